import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AccessLog, type AccessEntry } from '../../../src/apps/access-log.ts'

const dirs: string[] = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lk-alog-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const entry = (i: number): AccessEntry => ({ time: new Date(i).toISOString(), identity: 'local', method: 'GET', path: `/p/${i}`, status: 200, bytes: i, durationMs: 1 })

describe('AccessLog', () => {
  it('returns the newest entries first, and keeps them across instances (restarts)', () => {
    const dir = temp()
    const a = new AccessLog(dir)
    for (let i = 0; i < 5; i++) a.record('nb', entry(i))
    a.flush()
    const b = new AccessLog(dir)
    expect(b.read('nb', 3).map((e) => e.path)).toEqual(['/p/4', '/p/3', '/p/2'])
  })

  it('stays within twice its limit however much is logged', () => {
    const dir = temp()
    const log = new AccessLog(dir, 10_000)
    for (let i = 0; i < 2000; i++) {
      log.record('nb', entry(i))
      if (i % 50 === 0) log.flush()
    }
    log.flush()
    const file = join(dir, 'app-logs', 'nb.log')
    expect(statSync(file).size + statSync(file + '.1').size).toBeLessThanOrEqual(20_000)
    expect(log.read('nb', 1)[0].path).toBe('/p/1999')
  })
})
