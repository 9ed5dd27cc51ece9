/**
 * Tailscale funnel and serve with the fake tailscale CLI: the command line, the URL, the
 * ingress bound on targetPort only while the tunnel runs, external bindings reported in
 * status and turned off by kill-external.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { alive, allRecords, freePort, livePids, publicPort, records, startHarness, tailscaleSettings, waitUntil, type Harness } from './helpers.ts'

const TAILSCALE = join(import.meta.dir, '../../fakes/bin/tailscale')
let h: Harness | null = null
afterEach(async () => {
  await h?.stop()
  h = null
})

describe('tailscale provider', () => {
  for (const mode of ['funnel', 'serve'] as const) {
    it(`runs "tailscale ${mode} <targetPort>" at the Tailscale ingress on targetPort`, async () => {
      const targetPort = freePort()
      h = await startHarness({ settings: tailscaleSettings(targetPort, {}, mode), args: ['--tailscale-socket', '/tmp/lk-no-such.sock'] })
      await h.api('POST', '/remote/tunnel/start')
      const running = await h.waitState('running')
      expect(running.url).toBe('https://host.tailnet.ts.net')
      expect(running.kind).toBe(`tailscale-${mode}`)
      const [rec] = records(h.tsRecords)
      // Global flag before the subcommand (facts §4.1), the bare port = http://127.0.0.1:<port> (§3.1).
      expect(rec.argv).toEqual(['--socket=/tmp/lk-no-such.sock', mode, String(targetPort)])
      // The port is a tailscale-ingress listener: never loopback-exempt, even from 127.0.0.1.
      const direct = await fetch(`http://127.0.0.1:${targetPort}/api/remote/status`)
      expect(direct.status).toBe(401)
      const viaTunnel = await fetch(`http://127.0.0.1:${await publicPort(h.tsRecords, rec.pid)}/api/remote/status`)
      expect(viaTunnel.status).toBe(401)

      await h.api('POST', '/remote/tunnel/stop')
      expect(alive(rec.pid)).toBe(false)
      // The ingress on targetPort closes with the tunnel.
      expect(await fetch(`http://127.0.0.1:${targetPort}/`).then(() => 'open', () => 'closed')).toBe('closed')
    })
  }

  it('fails with exited_before_ready and the CLI\'s message when tailscaled is not running', async () => {
    h = await startHarness({ settings: tailscaleSettings(freePort()), env: { FAKE_TAILSCALE_MODE: 'fail', FAKE_TAILSCALE_FAIL: 'no-daemon' } })
    await h.api('POST', '/remote/tunnel/start')
    const failed = await h.waitState('failed')
    expect(failed.lastErrorCode).toBe('exited_before_ready')
    expect(failed.lastError).toContain("failed to connect to local tailscaled; it doesn't appear to be running")
  })

  it('fails when funnel is not enabled and the CLI exits 0 without setting anything up', async () => {
    h = await startHarness({ settings: tailscaleSettings(freePort()), env: { FAKE_TAILSCALE_MODE: 'fail', FAKE_TAILSCALE_FAIL: 'funnel-not-enabled' } })
    await h.api('POST', '/remote/tunnel/start')
    const failed = await h.waitState('failed')
    expect(failed.lastError).toContain('exited with code 0')
    expect(failed.lastError).toContain('Funnel is not enabled')
  })
})

describe('external tunnels', () => {
  it('reports a funnel latchkey did not start, and kill-external turns it off', async () => {
    h = await startHarness({ settings: tailscaleSettings(freePort()) })
    const bg = spawnSync(TAILSCALE, ['funnel', '--bg', '9999'], { env: { ...process.env, FAKE_TAILSCALE_STATE_DIR: h.tsState, FAKE_TAILSCALE_READY_DELAY_MS: '0' }, encoding: 'utf8' })
    expect(bg.status).toBe(0)
    await Bun.sleep(3100) // past the status cache
    const st = await h.status()
    expect(st.state).toBe('stopped')
    expect(st.externalTunnel).toMatchObject({ provider: 'tailscale', url: 'https://host.tailnet.ts.net', funnel: true })

    const kill = await h.api('POST', '/remote/tunnel/kill-external')
    expect(kill.status).toBe(200)
    expect(kill.body.killed).toEqual(['https://host.tailnet.ts.net'])
    expect(kill.body.status.externalTunnel).toBeNull()
    const offCall = allRecords(h.tsRecords).find((r) => r.argv.includes('off'))
    expect(offCall?.argv).toEqual(['funnel', '--https=443', 'off'])
  })

  it('does not report latchkey\'s own running funnel as external, and refuses kill-external while it runs', async () => {
    h = await startHarness({ settings: tailscaleSettings(freePort()) })
    await h.api('POST', '/remote/tunnel/start')
    const running = await h.waitState('running')
    expect(running.externalTunnel).toBeNull()
    const kill = await h.api('POST', '/remote/tunnel/kill-external')
    expect(kill.status).toBe(409)
    expect(kill.body.error).toBe('tunnel_running')
    expect(livePids(h.tsRecords).length).toBe(1)
    await h.api('POST', '/remote/tunnel/stop')
    await waitUntil(() => livePids(h!.tsRecords).length === 0, 3000, 'the funnel to exit')
  })
})
