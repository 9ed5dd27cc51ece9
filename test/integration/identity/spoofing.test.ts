/**
 * Header spoofing refused on every listener: dashboard, API, and both tunnel ingresses.
 * Identity and forwarding headers (Tailscale-User-*, X-Forwarded-For, Forwarded,
 * x-latchkey-*) never turn a request into the local user, a tailnet user or an internal hop.
 * `tailscale.trustServeHeaders` is on here, so the Tailscale ingress is the one place the
 * serve headers count, and even there they never give admin without a WhoIs match.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { startFakeLocalApi, type FakeLocalApi } from '../../fakes/localapi.ts'

let api: FakeLocalApi
let lk: Latchkey
let peer: Peer

beforeAll(async () => {
  peer = createPeer()
  // The admin's node is elsewhere on the tailnet; the namespace peer is unknown to WhoIs.
  api = await startFakeLocalApi({ peers: { '100.64.0.2': { UserProfile: { ID: 12345, LoginName: 'alice@example.com', DisplayName: 'Alice' } } } })
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0', '--tailscale-socket', api.socketPath],
    yaml: 'tailscale:\n  trustServeHeaders: true\n',
  })
})
afterAll(async () => {
  await lk?.stop()
  await api?.stop()
  peer?.destroy()
})

const SPOOFS: Record<string, Record<string, string>> = {
  'Tailscale-User-* of the admin': { 'tailscale-user-login': 'alice@example.com', 'tailscale-user-name': 'Alice', 'tailscale-user-profile-pic': 'https://example.com/a.png' },
  'X-Forwarded-For: 127.0.0.1': { 'x-forwarded-for': '127.0.0.1' },
  'Forwarded: for=127.0.0.1': { forwarded: 'for=127.0.0.1;host=localhost' },
  'X-Real-IP and Cf-Connecting-Ip': { 'x-real-ip': '127.0.0.1', 'cf-connecting-ip': '127.0.0.1' },
  'x-latchkey-identity': { 'x-latchkey-identity': Buffer.from(JSON.stringify({ role: 'admin', via: 'api-key', key: 'api-key' })).toString('base64url'), 'x-latchkey-internal-auth': 'guessed-secret' },
}

type Where = { name: string; send(path: string, headers: Record<string, string>): ReturnType<typeof curlFrom> }
const WHERE: Where[] = [
  { name: 'dashboard from loopback', send: (p, h) => curlFrom(null, `http://127.0.0.1:${lk.dashboardPort}${p}`, { headers: h }) },
  { name: 'api from loopback', send: (p, h) => curlFrom(null, `http://127.0.0.1:${lk.apiPort}${p}`, { headers: h }) },
  { name: 'Tailscale ingress', send: (p, h) => curlFrom(null, `http://127.0.0.1:${lk.tailscaleIngressPort}${p}`, { headers: { host: 'h.tailnet.ts.net', ...h } }) },
  { name: 'Cloudflare ingress', send: (p, h) => curlFrom(null, `http://127.0.0.1:${lk.cloudflareIngressPort}${p}`, { headers: { host: 'x.trycloudflare.com', ...h } }) },
  { name: 'dashboard from a namespace peer', send: (p, h) => peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}${p}`, { headers: h }) },
  { name: 'api from a namespace peer', send: (p, h) => peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}${p}`, { headers: h }) },
]

describe('header spoofing', () => {
  it('grants the local user admin without spoofed headers (the control)', async () => {
    const res = await curlFrom(null, `http://127.0.0.1:${lk.apiPort}/api/connect`)
    expect(res.status).toBe(200)
    expect(res.json().tokenIncluded).toBe(true)
  })

  it('never gives admin for spoofed identity or forwarding headers, on any listener', async () => {
    const failures: string[] = []
    for (const where of WHERE) {
      for (const [spoof, headers] of Object.entries(SPOOFS)) {
        const res = await where.send('/api/connect', headers)
        const ran = res.body.includes('tokenIncluded')
        // The serve headers are believed on the Tailscale ingress (trust on) as a viewer at most.
        const viewerOk = where.name === 'Tailscale ingress' && spoof.startsWith('Tailscale-User')
        const want = spoof === 'x-latchkey-identity' || viewerOk ? 403 : 401
        if (res.status !== want || ran) failures.push(`${where.name} + ${spoof}: ${res.status}, handler ran: ${ran} (want ${want})`)
        const who = (await where.send('/api/whoami', headers)).json()
        if (who.role === 'admin' || who.local || (who.role === 'viewer') !== viewerOk) failures.push(`${where.name} + ${spoof}: whoami ${JSON.stringify(who)}`)
      }
    }
    expect(failures).toEqual([])
  })

  it('names a forged internal header in the refusal', async () => {
    const res = await curlFrom(null, `http://127.0.0.1:${lk.apiPort}/api/access`, { headers: SPOOFS['x-latchkey-identity'] })
    expect(res.status).toBe(403)
    expect(res.json().message).toContain('forged internal identity header')
  })

  it('gives no identity to a Funnel request on the Tailscale ingress, even with user headers', async () => {
    const res = await curlFrom(null, `http://127.0.0.1:${lk.tailscaleIngressPort}/api/whoami`, {
      headers: { host: 'h.tailnet.ts.net', 'tailscale-funnel-request': '?1', 'tailscale-user-login': 'alice@example.com', 'x-forwarded-for': '100.64.0.2' },
    })
    expect(res.json()).toMatchObject({ role: 'none', tailscale: null })
  })

  it('matches a serve login to its ID by WhoIs of X-Forwarded-For on the Tailscale ingress only', async () => {
    const serve = { host: 'h.tailnet.ts.net', 'tailscale-user-login': 'alice@example.com', 'x-forwarded-for': '100.64.0.2' }
    const ts = await curlFrom(null, `http://127.0.0.1:${lk.tailscaleIngressPort}/api/whoami`, { headers: serve })
    expect(ts.json()).toMatchObject({ role: 'viewer', method: 'tailscale-serve', tailscale: { id: '12345' } }) // no admins configured: a viewer
    const cf = await curlFrom(null, `http://127.0.0.1:${lk.cloudflareIngressPort}/api/whoami`, { headers: { ...serve, host: 'x.trycloudflare.com' } })
    expect(cf.json()).toMatchObject({ role: 'none', tailscale: null })
  })
})
