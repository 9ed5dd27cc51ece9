/**
 * `<dataDir>/tunnel-pids/<pid>.json`: every tunnel process latchkey started and has not yet
 * seen exit. At the next start, whatever is still listed (latchkey crashed or was killed) is
 * stopped, so no child outlives latchkey (DESIGN.md, "Things that are easy to get wrong").
 * A pid is only signalled when its start time still matches, so a reused pid is left alone.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../config/atomic-write.ts'
import { procStat, processAlive, stopGroup } from './process-group.ts'

export interface PidRecord {
  pid: number
  provider: string
  kind: string
  /** From /proc/<pid>/stat (Linux); null where there is no /proc. */
  startTime: string | null
  startedAt: string
}

export class PidRegistry {
  readonly dir: string

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'tunnel-pids')
  }

  add(pid: number, info: { provider: string; kind: string }): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const rec: PidRecord = { pid, ...info, startTime: procStat(pid)?.startTime ?? null, startedAt: new Date().toISOString() }
    writeFileAtomic(join(this.dir, `${pid}.json`), JSON.stringify(rec) + '\n')
  }

  remove(pid: number): void {
    try {
      unlinkSync(join(this.dir, `${pid}.json`))
    } catch {}
  }

  list(): PidRecord[] {
    let names: string[] = []
    try {
      names = readdirSync(this.dir).filter((n) => /^\d+\.json$/.test(n))
    } catch {
      return []
    }
    const out: PidRecord[] = []
    for (const name of names) {
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as PidRecord)
      } catch {
        this.remove(Number(name.split('.')[0]))
      }
    }
    return out
  }

  /** Stop every listed tunnel left by an earlier latchkey; returns the pids that were stopped. */
  async reap(graceMs: number): Promise<number[]> {
    const stopped: number[] = []
    await Promise.all(
      this.list().map(async (rec) => {
        const now = procStat(rec.pid)
        const same = rec.startTime === null || now === null ? processAlive(rec.pid) : now.startTime === rec.startTime && now.state !== 'Z'
        if (same && rec.pid !== process.pid) {
          await stopGroup(rec.pid, graceMs)
          stopped.push(rec.pid)
        }
        this.remove(rec.pid)
      }),
    )
    return stopped
  }
}
