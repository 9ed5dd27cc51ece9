/** Atomic file replacement: temp file in the same folder, fsync, rename, fsync of the folder. */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'

export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  let fd = -1
  try {
    fd = openSync(tmp, 'wx', mode)
    writeSync(fd, data)
    fsyncSync(fd)
    closeSync(fd)
    fd = -1
    renameSync(tmp, path)
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
