/** `latchkey tunnel start|stop|status` against a running latchkey, found through runtime.json. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, FAKES_BIN, ROOT, tempDir } from '../../helpers/latchkey.ts'
import { livePids, quickSettings, startHarness, type Harness } from './helpers.ts'

let h: Harness
const dataDir = tempDir('lk-cli-')
beforeAll(async () => {
  h = await startHarness({ dataDir, settings: quickSettings() })
})
afterAll(() => h.stop())

const cli = (...args: string[]) => {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PATH: `${FAKES_BIN}:${process.env.PATH}` }
  for (const k of Object.keys(env)) if (k.startsWith('LATCHKEY_')) delete env[k]
  return spawnSync(BUN, [join(ROOT, 'src', 'main.ts'), 'tunnel', ...args, '--data-dir', dataDir], { env, encoding: 'utf8', timeout: 20_000 })
}

describe('latchkey tunnel', () => {
  it('finds the running latchkey in runtime.json', () => {
    const info = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8'))
    expect(info).toMatchObject({ pid: h.lk.proc.pid, apiPort: h.lk.apiPort, dashboardPort: h.lk.dashboardPort })
  })

  it('start waits for running and prints the URL; status and stop report it', () => {
    const start = cli('start')
    expect(start.status).toBe(0)
    expect(start.stdout).toMatch(/^Tunnel: running \(cloudflare\) https:\/\/[a-z-]+\.trycloudflare\.com$/m)
    expect(livePids(h.cfRecords).length).toBe(1)
    const status = cli('status')
    expect(status.stdout).toContain('Tunnel: running (cloudflare)')
    const stop = cli('stop')
    expect(stop.status).toBe(0)
    expect(stop.stdout).toContain('Tunnel: stopped')
    expect(livePids(h.cfRecords)).toEqual([])
  })

  it('exits 1 with the 409 message when the tunnel cannot start', async () => {
    await h.api('PUT', '/remote/settings', { activeProvider: 'tailscale' })
    const start = cli('start')
    expect(start.status).toBe(1)
    expect(start.stderr).toContain('remoteAccess.providers.tailscale.enabled is false')
  })

  it('exits 2 on an unknown subcommand', () => {
    const r = cli('restart')
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('latchkey tunnel start|stop|status')
  })

  it('says so when no latchkey is running, and runtime.json is removed at shutdown', async () => {
    await h.stop()
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false)
    const r = cli('status')
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('No latchkey is running')
    h = await startHarness({ dataDir })
  })
})
