/**
 * One latchkey per data dir: a pid file created exclusively. A stale file (its process gone)
 * is taken over, so a crash never blocks the next start.
 */
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../errors.ts'

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    return err?.code === 'EPERM'
  }
}

/** Take the data dir's lock or throw naming the process that holds it. Returns a release function. */
export function acquireInstanceLock(dataDir: string): () => void {
  const path = join(dataDir, 'latchkey.pid')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path)
        } catch {}
      }
    } catch (err: any) {
      if (err?.code !== 'EEXIST') throw new ConfigError(`cannot create the lock file (${err?.code ?? err})`, { path })
      const holder = Number(readFileSync(path, 'utf8').trim())
      if (isAlive(holder) && holder !== process.pid) {
        throw new ConfigError(`another latchkey (pid ${holder}) is using this data folder; stop it or pass a different --data-dir`, { path })
      }
      try {
        unlinkSync(path)
      } catch {}
    }
  }
  throw new ConfigError('cannot take the lock file', { path })
}
