/**
 * Issue 4: restarting latchkey 20 times in a row with a running fake tunnel (half of them with
 * SIGKILL) leaves exactly one tunnel process and a valid settings.json.
 */
import { afterAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../../helpers/latchkey.ts'
import { checkSettings } from '../../../src/config/settings-store.ts'
import { livePids, newDirs, quickSettings, startHarness, waitUntil, type Harness } from './helpers.ts'

setDefaultTimeout(90_000)
let h: Harness | null = null
afterAll(async () => {
  await h?.stop()
})

describe('latchkey restarts with a running tunnel', () => {
  it('leaves exactly one tunnel process and a valid settings.json after 20 restarts', async () => {
    const dataDir = tempDir('lk-soak-')
    const dirs = newDirs()
    const env = { LATCHKEY_TUNNEL_GRACE_MS: '800', FAKE_CLOUDFLARED_READY_DELAY_MS: '50', FAKE_CLOUDFLARED_REGISTER_DELAY_MS: '20' }
    h = await startHarness({ dataDir, dirs, env, settings: quickSettings({ lifecycle: { rememberLastRunning: true } }) })
    await h.api('POST', '/remote/tunnel/start')
    await h.waitState('running')
    const started = Date.now()
    for (let i = 0; i < 20; i++) {
      await h.stop(i % 2 === 0 ? 'SIGKILL' : 'SIGTERM')
      h = await startHarness({ dataDir, dirs, env })
      const st = await h.waitState('running', 10_000)
      expect(st.restore.outcome).toBe('applied')
      // Never two tunnels serving at once after the restored one is up.
      await waitUntil(() => livePids(dirs.cfRecords).length === 1, 5000, `one tunnel after restart ${i + 1}`)
    }
    expect(livePids(dirs.cfRecords).length).toBe(1)
    const text = readFileSync(join(dataDir, 'settings.json'), 'utf8')
    const { problem } = checkSettings(JSON.parse(text))
    expect(problem).toBeUndefined()
    expect(JSON.parse(text).remoteAccess.lifecycle).toMatchObject({ wasRunningOnShutdown: true, lastRunningProvider: 'cloudflare' })
    console.log(`20 restarts in ${Date.now() - started} ms`)
    await h.api('POST', '/remote/tunnel/stop')
    expect(livePids(dirs.cfRecords)).toEqual([])
  })
})
