/**
 * The tunnel lifecycle over the real API with the fake cloudflared: URL discovery, every
 * state, readiness timeout, crash → failed, autoRestart, stop kills the whole process group,
 * and the named tunnel's token kept out of argv, logs and GET responses.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { alive, livePids, namedSettings, quickSettings, records, startHarness, TUNNEL_TOKEN, waitUntil, type Harness } from './helpers.ts'

let h: Harness | null = null
afterEach(async () => {
  await h?.stop()
  h = null
})

describe('POST /api/remote/tunnel/start (cloudflare quick)', () => {
  it('goes starting → running with the banner URL, and stop kills the process group', async () => {
    h = await startHarness({ settings: quickSettings() })
    const start = await h.api('POST', '/remote/tunnel/start')
    expect(start.status).toBe(202)
    expect(start.body.state).toBe('starting')
    const running = await h.waitState('running')
    expect(running.url).toMatch(/^https:\/\/[a-z-]+\.trycloudflare\.com$/)
    const [rec] = records(h.cfRecords)
    // Global flags before the subcommand, pointed at the Cloudflare ingress, never the dashboard/API.
    expect(rec.argv.slice(0, 4)).toEqual(['tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:0'])
    const target = Number(rec.argv[rec.argv.indexOf('--url') + 1].split(':').pop())
    expect(target).not.toBe(h.lk.dashboardPort)
    expect(target).not.toBe(h.lk.apiPort)
    expect(h.lk.output()).toMatch(new RegExp(`cfi=${target}\\b`))
    expect(rec.pgid).toBe(rec.pid) // its own process group
    expect(h.lk.output()).toContain(running.url.replace('https://', ''))

    const stop = await h.api('POST', '/remote/tunnel/stop')
    expect(stop.status).toBe(200)
    expect(stop.body.state).toBe('stopped')
    expect(alive(rec.pid)).toBe(false)
    expect(() => process.kill(-rec.pid, 0)).toThrow()
    expect(records(h.cfRecords)[0].exit).toMatchObject({ code: 0 }) // graceful SIGTERM (facts §1.7)
  })

  it('fails with start_timeout when the tunnel never becomes ready, and leaves no process', async () => {
    h = await startHarness({ settings: quickSettings(), env: { FAKE_CLOUDFLARED_MODE: 'hang', LATCHKEY_TUNNEL_START_TIMEOUT_MS: '1200' } })
    await h.api('POST', '/remote/tunnel/start')
    const failed = await h.waitState('failed')
    expect(failed.lastErrorCode).toBe('start_timeout')
    expect(failed.url).toBeNull()
    await waitUntil(() => livePids(h!.cfRecords).length === 0, 4000, 'the hung child to be killed')
  })

  it('fails with exited_before_ready and the last stderr line when cloudflared exits first', async () => {
    h = await startHarness({ settings: quickSettings(), env: { FAKE_CLOUDFLARED_MODE: 'fail' } })
    await h.api('POST', '/remote/tunnel/start')
    const failed = await h.waitState('failed')
    expect(failed.lastErrorCode).toBe('exited_before_ready')
    expect(failed.lastError).toContain('exited with code 1')
    expect(failed.lastError).toContain('failed to request quick Tunnel')
    // failed → starting again on a manual start, failed → stopped on stop.
    expect((await h.api('POST', '/remote/tunnel/stop')).body.state).toBe('stopped')
  })

  it('moves a running tunnel that crashes to failed, and autoRestart brings it back', async () => {
    h = await startHarness({
      settings: quickSettings({ lifecycle: { autoRestart: true } }),
      env: { FAKE_CLOUDFLARED_MODE: 'crash-after', FAKE_CLOUDFLARED_CRASH_AFTER_MS: '400' },
    })
    await h.api('POST', '/remote/tunnel/start')
    await h.waitState('running')
    const failed = await h.waitState('failed')
    expect(failed.lastErrorCode).toBe('tunnel_exited')
    expect(failed.lastError).toContain('fake cloudflared crash')
    await h.waitState((s) => s.state === 'running' && records(h!.cfRecords).length === 2, 6000)
    expect(livePids(h.cfRecords).length).toBe(1)
    await h.api('POST', '/remote/tunnel/stop')
    expect(livePids(h.cfRecords)).toEqual([])
  })

  it('answers 409 tunnel_already_running to a second start', async () => {
    h = await startHarness({ settings: quickSettings() })
    await h.api('POST', '/remote/tunnel/start')
    const again = await h.api('POST', '/remote/tunnel/start')
    expect(again.status).toBe(409)
    expect(again.body.error).toBe('tunnel_already_running')
    await h.waitState('running')
    expect(records(h.cfRecords).length).toBe(1)
  })
})

describe('POST /api/remote/tunnel/start (cloudflare named)', () => {
  it('passes the token only in TUNNEL_TOKEN, reports ingressUrl, and never shows the token', async () => {
    h = await startHarness({ settings: namedSettings() })
    await h.api('POST', '/remote/tunnel/start')
    const running = await h.waitState('running')
    expect(running.url).toBe('https://lk.example.com')
    const [rec] = records(h.cfRecords)
    expect(rec.argv).toEqual(['tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:0', 'run', '--url', expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), 'home'])
    expect(JSON.stringify(rec.argv)).not.toContain(TUNNEL_TOKEN)
    expect(rec.env.TUNNEL_TOKEN).toBe(TUNNEL_TOKEN)
    // latchkey's own secrets are not handed to the child.
    expect(Object.keys(rec.env).filter((k) => k.startsWith('LATCHKEY_'))).toEqual([])

    const settings = await h.api('GET', '/remote/settings')
    const status = await h.api('GET', '/remote/status')
    for (const body of [settings.body, status.body]) expect(JSON.stringify(body)).not.toContain(TUNNEL_TOKEN)
    expect(settings.body.remoteAccess.providers.cloudflare.tunnelToken).toMatch(/^eyJh•+/)
    await h.api('POST', '/remote/tunnel/stop')
    // Debug logging shows every child line; the token is in none of them.
    expect(h.lk.output()).toContain('tunnel output')
    expect(h.lk.output()).not.toContain(TUNNEL_TOKEN)
    expect(readFileSync(join(h.dataDir, 'settings.json'), 'utf8')).toContain(TUNNEL_TOKEN) // stored, only there
  })
})
