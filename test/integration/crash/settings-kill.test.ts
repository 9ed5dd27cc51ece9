/**
 * Crash safety of settings.json (issue 10): 200 settings writes — persistent token
 * regenerations, provider switches and app edits — with latchkey killed by SIGKILL at a random
 * moment in each round while writes are in flight. After every kill, settings.json must parse,
 * validate, and hold the old or a new value of each field (never a mix, never a value nobody
 * wrote); a write latchkey acknowledged must be on disk. latchkey restarts on the same data dir.
 */
import { afterAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { readSettings, send, settingsTemps, shuffle, type Outcome, type Write } from './helpers.ts'

setDefaultTimeout(60_000)

const ROUNDS = 8
const PER_ROUND = 25 // 200 writes in all
const dataDir = tempDir('lk-crash-')
let lk: Latchkey | null = null

afterAll(async () => {
  await lk?.stop('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

const initial = {
  remoteAccess: { enabled: true, activeProvider: 'tailscale', tokenStrategy: { persistent: { enabled: true, token: 'initial-persistent-token-0123456789' } } },
  apps: [{ name: 'crash', target: 'http://127.0.0.1:19000', path: '/apps/crash' }],
}

describe('settings.json under SIGKILL', () => {
  it('always parses, validates and holds the old or a new value after a kill mid-write', async () => {
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(initial, null, 2))
    let port = 19001
    let acknowledged = 0
    let killedWithPending = 0
    for (let round = 0; round < ROUNDS; round++) {
      lk = await startLatchkey({ dataDir })
      // The previous kill's temp files are gone once latchkey has started again.
      expect(settingsTemps(dataDir)).toEqual([])
      const before = readSettings(dataDir).settings
      const writes: Write[] = []
      for (let i = 0; i < PER_ROUND; i++) {
        const pick = i % 3
        if (pick === 0) writes.push({ kind: 'regenerate' })
        else if (pick === 1) writes.push({ kind: 'activate', provider: i % 2 ? 'cloudflare' : 'tailscale' })
        else writes.push({ kind: 'edit-app', name: 'crash', target: `http://127.0.0.1:${port++}` })
      }
      shuffle(writes)
      // Kill after a random number of answers (0 = before any), plus a random few ms.
      const killAfter = Math.floor(Math.random() * PER_ROUND * 0.8)
      const outcomes: Outcome[] = []
      const proc = lk.proc
      let killed = false
      const kill = () => {
        if (killed) return
        killed = true
        setTimeout(() => proc.kill('SIGKILL'), Math.random() * 4)
      }
      if (killAfter === 0) kill()
      await Promise.all(writes.map(async (w) => {
        const o = await send(lk!, w)
        outcomes.push(o)
        if (o.status !== null && outcomes.filter((x) => x.status !== null).length >= killAfter) kill()
      }))
      kill()
      await lk.stop('SIGKILL')
      if (outcomes.some((o) => o.status === null)) killedWithPending++

      // Every answer before the kill was a success: nothing failed for a reason of its own.
      for (const o of outcomes) if (o.status !== null) expect(o.status).toBe(200)
      const acked = outcomes.filter((o) => o.status === 200)
      acknowledged += acked.length

      const after = readSettings(dataDir).settings
      // The token: the old one, or a new one of the right shape; new for sure if a regeneration was acknowledged.
      const token = after.remoteAccess.tokenStrategy.persistent.token!
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$|^initial-persistent-token-0123456789$/)
      if (acked.some((o) => o.write.kind === 'regenerate')) expect(token).not.toBe(before.remoteAccess.tokenStrategy.persistent.token)
      // The provider: one that was there or was asked for.
      const providers = new Set([before.remoteAccess.activeProvider, ...writes.flatMap((w) => (w.kind === 'activate' ? [w.provider] : []))])
      expect(providers.has(after.remoteAccess.activeProvider)).toBe(true)
      // The app: exactly one, with the old target or one a write asked for; a new one if an edit was acknowledged.
      expect(after.apps.map((a) => a.name)).toEqual(['crash'])
      const targets = new Set([before.apps[0].target, ...writes.flatMap((w) => (w.kind === 'edit-app' ? [w.target] : []))])
      expect(targets.has(after.apps[0].target)).toBe(true)
      if (acked.some((o) => o.write.kind === 'edit-app')) expect(after.apps[0].target).not.toBe(before.apps[0].target)
      // The rest of the file is untouched by these writes.
      expect(after.remoteAccess.enabled).toBe(true)
      expect(after.apps[0].path).toBe('/apps/crash')
    }
    // One more start on the same data dir: the file left by the last kill is accepted as is.
    lk = await startLatchkey({ dataDir })
    expect(settingsTemps(dataDir)).toEqual([])
    const res = await fetch(lk.url('/api/apps', 'api'))
    expect(res.status).toBe(200)
    expect((await res.json()).apps.map((a: { name: string }) => a.name)).toEqual(['crash'])
    console.log(`crash: ${ROUNDS * PER_ROUND} writes, ${acknowledged} acknowledged before the kills, ${killedWithPending}/${ROUNDS} kills with writes in flight`)
    // Most rounds must really kill with writes in flight, or the test proves little.
    expect(killedWithPending).toBeGreaterThanOrEqual(ROUNDS / 2)
  })
})
