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

const lockPath = (dataDir: string) => join(dataDir, 'latchkey.pid')

/** The pid the data dir's lock names, alive or not (null: no lock). */
export function lockHolder(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(lockPath(dataDir), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/**
 * Whether process `pid` started no later than `epochMs` (with 2 s of slack for clock
 * rounding): a pid reused by a newer process after a crash fails this. Linux reads
 * /proc/<pid>/stat (start time in clock ticks after boot; USER_HZ is 100 on every Linux
 * ABI) and /proc/stat `btime`; elsewhere the answer is true (unknown).
 */
export function startedBefore(pid: number, epochMs: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[19])
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1])
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return true
    return btime * 1000 + ticks * 10 <= epochMs + 2000
  } catch {
    return true
  }
}

/** Take the data dir's lock or throw naming the process that holds it. Returns a release function. */
export function acquireInstanceLock(dataDir: string): () => void {
  const path = lockPath(dataDir)
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
