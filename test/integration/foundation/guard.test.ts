/**
 * The guard over real sockets: loopback from 127.0.0.1, remote from a network-namespace
 * peer, tunnel ingress from 127.0.0.1 (never loopback-exempt).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { rawHttp } from '../../helpers/raw-http.ts'

let peer: Peer
let lk: Latchkey
const local = (url: string, init?: Parameters<typeof curlFrom>[2]) => curlFrom(null, url, init)
const remote = (path: string, init?: Parameters<typeof curlFrom>[2], port?: number) => peer.fetch(`http://${peer.hostAddress}:${port ?? lk.dashboardPort}${path}`, init)

beforeAll(async () => {
  peer = createPeer()
  lk = await startLatchkey({ args: ['--host', '0.0.0.0'] })
})
afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
})

describe('guard: the local user', () => {
  it('exempts a direct loopback request from the token', async () => {
    const res = await local(lk.url('/api/access', 'api'))
    expect(res.status).toBe(200)
    expect(res.json().tokenRequired).toBe(true)
    const who = await local(lk.url('/api/whoami'))
    expect(who.json()).toMatchObject({ role: 'admin', method: 'loopback', local: true })
  })

  it('serves the dashboard page to loopback without a token', async () => {
    const res = await local(lk.url('/'), { headers: { accept: 'text/html' } })
    expect(res.status).toBe(200)
    expect(res.body).toContain('Connect a device')
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
  })

  it.each([
    ['X-Forwarded-For', { 'x-forwarded-for': '203.0.113.9' }],
    ['Forwarded', { forwarded: 'for=203.0.113.9' }],
    ['X-Real-IP', { 'x-real-ip': '203.0.113.9' }],
    ['Cf-Connecting-Ip', { 'cf-connecting-ip': '203.0.113.9' }],
    ['Tailscale-User-Login', { 'tailscale-user-login': 'alice@example.com' }],
    ['a rebinding Host', { host: 'attacker.example' }],
    ['a rebinding Host with a local-looking port', { host: 'attacker.example:8080' }],
  ])('treats a loopback request with %s as remote', async (_name, headers) => {
    const res = await local(lk.url('/api/access', 'api'), { headers: headers as Record<string, string> })
    expect(res.status).toBe(401)
    expect(res.json().error).toBe('unauthorized')
  })

  it.each(['localhost:8080', '127.0.0.1:13000', '[::1]:2222', 'localhost'])('takes a loopback request with Host %s for the local user (an SSH forward picks its own port)', async (host) => {
    const res = await local(lk.url('/api/access', 'api'), { headers: { host } })
    expect(res.status).toBe(200)
    // State changes compare Origin with the Host the browser used, whatever its port.
    const change = await local(lk.url('/api/session/logout', 'api'), { method: 'POST', headers: { host, origin: `http://${host}`, 'content-type': 'application/json' }, body: '{}' })
    expect(change.status).toBe(200)
    const foreign = await local(lk.url('/api/session/logout', 'api'), { method: 'POST', headers: { host, origin: 'http://localhost:9', 'content-type': 'application/json' }, body: '{}' })
    expect(foreign.status).toBe(403)
  })

  it('refuses two Host headers before routing', async () => {
    // curl sends only one of two -H Host lines; write the request by hand.
    const res = await rawHttp(lk.apiPort, 'GET /api/access HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n')
    expect(res.status).toBe(400)
    expect(res.raw).toContain('bad_host')
  })

  it('refuses HTTP/1.0 without a Host header', async () => {
    const res = await rawHttp(lk.apiPort, 'GET /api/access HTTP/1.0\r\n\r\n')
    expect(res.status).toBe(400)
    expect(res.raw).not.toContain('bindHost')
  })

  it('never exempts the tunnel ingress listeners, though their peer is loopback', async () => {
    for (const port of [lk.tailscaleIngressPort, lk.cloudflareIngressPort]) {
      const res = await local(`http://127.0.0.1:${port}/api/access`)
      expect(res.status).toBe(401)
      const page = await local(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } })
      expect(page.status).toBe(401)
      expect(page.body).toContain('Access token')
      expect((await local(`http://127.0.0.1:${port}/api/access`, { headers: { authorization: `Bearer ${lk.token}` } })).status).toBe(200)
    }
  })
})

describe('guard: a remote device', () => {
  it('prints a URL-safe token of at least 128 bits', () => {
    expect(lk.token).toMatch(/^[A-Za-z0-9_-]{22,}$/)
  })

  it('answers 401 with a JSON error and no data without a token', async () => {
    const res = await remote('/api/access', undefined, lk.apiPort)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('Bearer')
    expect(res.body).not.toContain('bindHost')
  })

  it('answers 401 to a wrong token and to an empty one', async () => {
    expect((await remote('/api/access', { headers: { authorization: 'Bearer wrong-token-value' } })).status).toBe(401)
    expect((await remote('/api/access', { headers: { authorization: 'Bearer ' } })).status).toBe(401)
    expect((await remote('/api/access?token=')).status).toBe(401)
  })

  it('accepts the token as a Bearer header and as ?token= for API clients', async () => {
    const bearer = await remote('/api/access', { headers: { authorization: `Bearer ${lk.token}` } }, lk.apiPort)
    expect(bearer.status).toBe(200)
    expect(bearer.json().remoteAccess).toBe(true)
    const who = await remote(`/api/whoami?token=${lk.token}`)
    expect(who.json()).toMatchObject({ role: 'admin', method: 'access-token', local: false, address: peer.peerAddress })
  })

  it('keeps /api/health public', async () => {
    const res = await remote('/api/health')
    expect(res.status).toBe(200)
    expect(res.json().status).toBe('ok')
  })

  it('shows browsers a token page instead of the dashboard', async () => {
    const res = await remote('/', { headers: { accept: 'text/html' } })
    expect(res.status).toBe(401)
    expect(res.body).toContain('name="token"')
    expect(res.body).not.toContain('data-panel="status"')
  })

  it('exchanges ?token= for an HttpOnly session cookie and a redirect without the token', async () => {
    const res = await remote(`/?token=${lk.token}&tab=apps`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/?tab=apps')
    const cookie = res.headers.get('set-cookie')!
    expect(cookie).toMatch(/^latchkey_session=[A-Za-z0-9_-]{40,};/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).not.toContain(lk.token!)
    const session = cookie.split(';')[0]
    const page = await remote('/', { headers: { accept: 'text/html', cookie: session } })
    expect(page.status).toBe(200)
    expect(page.body).toContain('Connect a device')
    const who = await remote('/api/whoami', { headers: { cookie: session } })
    expect(who.json()).toMatchObject({ role: 'admin', method: 'session' })
  })

  it('redirects a //host path to a same-origin path, never another host', async () => {
    const res = await remote(`//evil.example/x?token=${lk.token}`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/evil.example/x')
  })

  it('says the token is wrong on the page when a bad ?token= is visited', async () => {
    const res = await remote('/?token=not-the-token', { headers: { accept: 'text/html' } })
    expect(res.status).toBe(401)
    expect(res.body).toContain('That token is not valid')
    expect(res.body).not.toContain('not-the-token')
  })

  it('never shows a remote device the token in the connect panel', async () => {
    const res = await remote('/api/connect', { headers: { authorization: `Bearer ${lk.token}` } })
    expect(res.status).toBe(200)
    expect(res.json().url).toBeNull()
    expect(res.body).not.toContain(lk.token!)
    const mine = await local(lk.url('/api/connect'))
    expect(mine.json().url).toContain(`?token=${lk.token}`)
  })
})

describe('guard: state-changing requests', () => {
  const signIn = async () => {
    const res = await remote(`/?token=${lk.token}`, { headers: { accept: 'text/html' } })
    return res.headers.get('set-cookie')!.split(';')[0]
  }

  it('refuses a cross-site POST even from loopback, and changes nothing', async () => {
    const cookie = await signIn()
    const res = await local(lk.url('/api/session/logout'), { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(403)
    expect(res.json().error).toBe('cross_origin_refused')
    const viaSite = await remote('/api/session/logout', { method: 'POST', headers: { cookie, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, body: '{}' })
    expect(viaSite.status).toBe(403)
    expect((await remote('/api/whoami', { headers: { cookie } })).json().method).toBe('session')
  })

  it('refuses a form-encoded POST (what a cross-site form sends)', async () => {
    const cookie = await signIn()
    const res = await remote('/api/session/logout', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' })
    expect(res.status).toBe(415)
    expect((await remote('/api/whoami', { headers: { cookie } })).json().method).toBe('session')
  })

  it('accepts a same-origin JSON POST and ends the session', async () => {
    const cookie = await signIn()
    const origin = `http://${peer.hostAddress}:${lk.dashboardPort}`
    const res = await remote('/api/session/logout', { method: 'POST', headers: { cookie, origin, 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(200)
    expect(res.json().signedOut).toBe(true)
    expect((await remote('/api/whoami', { headers: { cookie } })).json().role).toBe('none')
  })
})
