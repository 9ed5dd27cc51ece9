/**
 * The remote API's config side: each 409 before anything is spawned, provider activation
 * (never starts), settings GET masked and PUT validated field by field with nothing written
 * on error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { records, remote, startHarness, TUNNEL_TOKEN, type Harness } from './helpers.ts'

let h: Harness
const settingsFile = () => readFileSync(join(h.dataDir, 'settings.json'), 'utf8')
const put = (body: unknown) => h.api('PUT', '/remote/settings', body)

beforeAll(async () => {
  // PATH without the fakes' cloudflared, so the runtime prerequisite can be missing.
  h = await startHarness({ settings: remote({ enabled: true }) })
})
afterAll(() => h.stop())

describe('POST /api/remote/tunnel/start prerequisites', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['remote access off', { enabled: false, activeProvider: 'cloudflare' }, 'remote_access_disabled', /remoteAccess\.enabled is false/],
    ['no provider', { enabled: true, activeProvider: null }, 'provider_missing', /remoteAccess\.activeProvider/],
    ['cloudflare disabled', { activeProvider: 'cloudflare', providers: { cloudflare: { enabled: false } } }, 'provider_not_enabled', /providers\.cloudflare\.enabled is false/],
    ['named tunnel without name, URL and token', { providers: { cloudflare: { enabled: true, quickTunnel: false } } }, 'provider_not_configured',
      /providers\.cloudflare\.tunnelName, remoteAccess\.providers\.cloudflare\.ingressUrl and remoteAccess\.providers\.cloudflare\.tunnelToken are not set/],
    ['named tunnel without token', { providers: { cloudflare: { tunnelName: 'home', ingressUrl: 'https://lk.example.com' } } }, 'provider_not_configured', /^Cannot start the Cloudflare named tunnel: remoteAccess\.providers\.cloudflare\.tunnelToken is not set/],
    ['tailscale disabled', { activeProvider: 'tailscale' }, 'provider_not_enabled', /providers\.tailscale\.enabled is false/],
    ['tailscale without hostname and port', { providers: { tailscale: { enabled: true } } }, 'provider_not_configured', /tailscale\.hostname and remoteAccess\.providers\.tailscale\.targetPort are not set/],
  ]
  for (const [name, patch, code, message] of cases) {
    it(`answers 409 ${code} naming what is missing (${name}), spawning nothing`, async () => {
      expect((await put(patch)).status).toBe(200)
      const res = await h.api('POST', '/remote/tunnel/start')
      expect(res.status).toBe(409)
      expect(res.body.error).toBe(code)
      expect(res.body.message).toMatch(message)
      expect(records(h.cfRecords).length + records(h.tsRecords).length).toBe(0)
      expect((await h.status()).state).toBe('stopped')
    })
  }

  it('answers 409 target_port_in_use when targetPort is latchkey\'s own dashboard port', async () => {
    await put({ activeProvider: 'tailscale', providers: { tailscale: { enabled: true, hostname: 'host.tailnet.ts.net', targetPort: h.lk.dashboardPort } } })
    const res = await h.api('POST', '/remote/tunnel/start')
    expect(res.status).toBe(409)
    expect(res.body.error).toBe('target_port_in_use')
    expect(res.body.message).toContain(`targetPort ${h.lk.dashboardPort}`)
    expect(records(h.tsRecords).length).toBe(0)
  })
})

describe('POST /api/remote/provider/activate', () => {
  it('selects the provider and never starts a tunnel', async () => {
    const res = await h.api('POST', '/remote/provider/activate', { provider: 'cloudflare' })
    expect(res.status).toBe(200)
    expect(res.body.state).toBe('stopped')
    expect(JSON.parse(settingsFile()).remoteAccess.activeProvider).toBe('cloudflare')
    await Bun.sleep(300)
    expect(records(h.cfRecords).length).toBe(0)
  })

  it('answers 400 naming "provider" for an unknown provider, without echoing it', async () => {
    const before = settingsFile()
    const res = await h.api('POST', '/remote/provider/activate', { provider: 'ngrok-secret-value' })
    expect(res.status).toBe(400)
    expect(res.body.field).toBe('provider')
    expect(JSON.stringify(res.body)).not.toContain('ngrok-secret-value')
    expect(settingsFile()).toBe(before)
  })
})

describe('PUT /api/remote/settings and /api/settings/global', () => {
  it('stores the tunnel token but GET returns it masked, and an echoed mask keeps it', async () => {
    expect((await put({ providers: { cloudflare: { tunnelToken: TUNNEL_TOKEN } } })).status).toBe(200)
    const got = await h.api('GET', '/remote/settings')
    const masked = got.body.remoteAccess.providers.cloudflare.tunnelToken
    expect(masked).not.toBe(TUNNEL_TOKEN)
    expect(JSON.stringify(got.body)).not.toContain(TUNNEL_TOKEN)
    const echoed = await put(got.body.remoteAccess)
    expect(echoed.status).toBe(200)
    expect(JSON.parse(settingsFile()).remoteAccess.providers.cloudflare.tunnelToken).toBe(TUNNEL_TOKEN)
  })

  const invalid: [string, unknown, string][] = [
    ['a port out of range', { providers: { tailscale: { targetPort: 70000 } } }, 'remoteAccess.providers.tailscale.targetPort'],
    ['a bad ingress URL', { providers: { cloudflare: { ingressUrl: 'ftp://x' } } }, 'remoteAccess.providers.cloudflare.ingressUrl'],
    ['an unknown field', { providers: { cloudflare: { tunnelSecret: 'zzz' } } }, 'remoteAccess.providers.cloudflare.tunnelSecret'],
    ['a wrong type', { enabled: 'yes' }, 'remoteAccess.enabled'],
    ['a marker latchkey owns', { lifecycle: { wasRunningOnShutdown: true } }, 'remoteAccess.lifecycle.wasRunningOnShutdown'],
  ]
  for (const [name, body, field] of invalid) {
    it(`answers 400 naming ${field} for ${name}, writing nothing`, async () => {
      const before = settingsFile()
      const res = await put(body)
      expect(res.status).toBe(400)
      expect(res.body.field).toBe(field)
      expect(res.body.message).toContain(field)
      expect(res.body.message).not.toContain('70000')
      expect(settingsFile()).toBe(before)
    })
  }

  it('PUT /api/settings/global changes remoteAccess and refuses other keys by name', async () => {
    const ok = await h.api('PUT', '/settings/global', { remoteAccess: { lifecycle: { rememberLastRunning: true } } })
    expect(ok.status).toBe(200)
    expect(JSON.parse(settingsFile()).remoteAccess.lifecycle.rememberLastRunning).toBe(true)
    const before = settingsFile()
    const bad = await h.api('PUT', '/settings/global', { remoteAccess: { enabled: true }, apps: [] })
    expect(bad.status).toBe(400)
    expect(bad.body.field).toBe('apps')
    expect(settingsFile()).toBe(before)
  })
})

describe('GET /api/remote/providers/cloudflare/detect', () => {
  it('finds cloudflared on PATH and lists the install commands', async () => {
    const res = await h.api('GET', '/remote/providers/cloudflare/detect')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ installed: true, version: '2026.8.2', autoInstall: { available: false } })
    expect(res.body.path).toEndWith('test/fakes/bin/cloudflared')
    expect(res.body.install.commands.brew).toBe('brew install cloudflared')
  })

  it('POST install fails closed with the shipped, unverified manifest', async () => {
    const res = await h.api('POST', '/remote/providers/cloudflare/install')
    expect(res.status).toBe(409)
    expect(res.body.error).toBe('manifest_unverified')
  })
})
