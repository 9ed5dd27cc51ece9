/** Atomic file replacement: temp file in the same folder, fsync, rename, fsync of the folder. */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/**
 * Replace `path` with `data`, all or nothing: a crash leaves the old file or the new one,
 * never a mix. A failed write (disk full, EFBIG from `ulimit -f`) throws and leaves `path`
 * untouched. `durable: false` skips the two fsyncs, for a file that means nothing after a
 * crash (runtime.json): readers still see the old file or the new one, never a mix.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600, opts: { durable?: boolean } = {}): void {
  const durable = opts.durable !== false
  // Web Crypto, not node:crypto: a start then loads no node:crypto for a temp name.
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('')
  const tmp = `${path}.tmp-${process.pid}-${suffix}`
  const bytes = Buffer.from(data, 'utf8')
  let fd = -1
  try {
    fd = openSync(tmp, 'wx', mode)
    // Note: write(2) may write fewer bytes than asked (a file-size limit is hit mid-write):
    // loop, so the next call reports the error instead of a short file being renamed in.
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off)
    if (durable) fsyncSync(fd)
    closeSync(fd)
    fd = -1
    renameSync(tmp, path)
    if (!durable) return
    const dfd = openSync(dirname(path), 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch (err) {
    if (fd !== -1) closeSync(fd)
    try {
      unlinkSync(tmp)
    } catch {}
    throw err
  }
}

/**
 * Delete temp files an earlier process left beside `path` when it was killed mid-write.
 * Call only while holding the data dir's lock (no other writer can be using them).
 */
export function removeStaleTemps(path: string): void {
  const prefix = `${basename(path)}.tmp-`
  let names: string[] = []
  try {
    names = readdirSync(dirname(path))
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    try {
      unlinkSync(join(dirname(path), name))
    } catch {}
  }
}
