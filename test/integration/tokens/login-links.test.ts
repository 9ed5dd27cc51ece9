/**
 * Login tokens end to end (runbook §5, §6; issue 5): the local user generates links, a real
 * remote peer (network namespace) opens them with curl and gets a session, the device list
 * shows it, regenerate and sign-out end it. Every Location, error body and log line is then
 * searched for the tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { cloudflareIngressPort, cookieOf, local, post, seen, track, via } from './lib.ts'

let peer: Peer
let lk: Latchkey
let base: string
const fromPeer = (url: string, init = {}) => via(peer.fetch, url, init)
const settingsToken = () => JSON.parse(readFileSync(join(lk.dataDir, 'settings.json'), 'utf8')).remoteAccess.tokenStrategy.persistent.token as string | null

async function signIn(body: Record<string, unknown> = {}): Promise<{ cookie: string; token: string }> {
  const gen = track((await local(lk, '/api/remote/token/short-lived/generate', post(body))).json())
  const res = await fromPeer(gen.url)
  expect(res.status).toBe(302)
  return { cookie: cookieOf(res), token: gen.token }
}

beforeAll(async () => {
  peer = createPeer()
  lk = await startLatchkey({ args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress] })
  base = `http://${peer.hostAddress}:${lk.dashboardPort}`
})
afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
})

describe('POST /api/remote/token/short-lived/generate', () => {
  it('returns a token, its login URL on the connect address and expiresAt', async () => {
    const before = Date.now()
    const res = await local(lk, '/api/remote/token/short-lived/generate', post({}))
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = track(res.json())
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43,}$/)
    expect(body).toMatchObject({ tokenType: 'short-lived', ttlMs: 900000, clamped: false, oneTime: false, role: 'admin' })
    expect(body.url).toBe(`${base}/remote-login?rt=${body.token}`)
    const expires = Date.parse(body.expiresAt)
    expect(expires).toBeGreaterThanOrEqual(before + 900000 - 1000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 900000 + 1000)
  })

  it('clamps ttlMs to maxTtlMs', async () => {
    const body = track((await local(lk, '/api/remote/token/short-lived/generate', post({ ttlMs: 10 * 86400000 }))).json())
    expect(body.ttlMs).toBe(86400000)
    expect(body.clamped).toBe(true)
  })

  it.each([
    [{ ttlMs: 'soon' }, 'ttlMs'],
    [{ ttlMs: 37 }, 'ttlMs'],
    [{ ttlMs: 1500.5 }, 'ttlMs'],
    [{ role: 'superuser' }, 'role'],
    [{ oneTime: 'maybe' }, 'oneTime'],
  ])('answers 400 naming the field for %j, without echoing it', async (body, field) => {
    const res = await local(lk, '/api/remote/token/short-lived/generate', post(body))
    expect(res.status).toBe(400)
    expect(res.json()).toMatchObject({ error: 'invalid_request', field })
    for (const v of Object.values(body)) expect(res.body).not.toContain(JSON.stringify(v))
  })
})

describe('GET /remote-login', () => {
  it('signs a remote device in with a session cookie and redirects to / without the token', async () => {
    const gen = track((await local(lk, '/api/remote/token/short-lived/generate', post({}))).json())
    const res = await fromPeer(gen.url, { headers: { 'user-agent': 'PhoneBrowser/1.0' } })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    const set = res.headers.get('set-cookie')!
    expect(set).toContain('HttpOnly')
    expect(set).toContain('SameSite=Lax')
    expect(set).not.toContain('Secure')
    expect(set).toContain('Max-Age=43200')
    const cookie = cookieOf(res)
    const who = (await fromPeer(`${base}/api/whoami`, { headers: { cookie } })).json()
    expect(who).toMatchObject({ authenticated: true, role: 'admin', method: 'session', local: false, address: peer.peerAddress })
    const page = await fromPeer(`${base}/`, { headers: { cookie, accept: 'text/html' } })
    expect(page.status).toBe(200)
    expect(page.body).toContain('<!doctype html>')
  })

  it('answers 401 remote_token_missing, remote_token_invalid as JSON to API clients', async () => {
    const missing = await fromPeer(`${base}/remote-login`, { headers: { accept: 'application/json' } })
    expect(missing.status).toBe(401)
    expect(missing.json().error).toBe('remote_token_missing')
    const invalid = await fromPeer(`${base}/remote-login?rt=not-a-real-token-at-all`, { headers: { accept: 'application/json' } })
    expect(invalid.status).toBe(401)
    expect(invalid.json().error).toBe('remote_token_invalid')
    expect(invalid.body).not.toContain('not-a-real-token-at-all')
    expect(invalid.headers.get('set-cookie')).toBeNull()
    expect(invalid.headers.get('referrer-policy')).toBe('no-referrer')
  })

  it('answers a browser with a readable page', async () => {
    const res = await fromPeer(`${base}/remote-login?rt=wrong-token-value`, { headers: { accept: 'text/html,application/xhtml+xml' } })
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.body).toContain('Login link not valid')
    expect(res.body).not.toContain('wrong-token-value')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
  })

  it("gives a browser's failure page the dashboard's stylesheet under a strict CSP, and the next step", async () => {
    const res = await fromPeer(`${base}/remote-login?rt=wrong-token-value`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(401)
    const href = /<link rel="stylesheet" href="(\/[^"]+\.css)">/.exec(res.body)?.[1]
    expect(href).toBeDefined()
    const css = await fromPeer(`${base}${href}`)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toContain('text/css')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    expect(res.body).not.toContain('<script')
    expect(res.body).toContain(`open its dashboard at http://localhost:${lk.dashboardPort}/#connect (“Connect a device”), make a new link or QR code there, and open it on this device.`)
    expect(res.body).toContain('<a class="button" href="/">Sign in with the access token</a>')
    expect(res.body).not.toContain('wrong-token-value')
    const missing = await fromPeer(`${base}/remote-login`, { headers: { accept: 'text/html' } })
    expect(missing.body).toContain('Incomplete login link')
    expect(missing.body).toContain(`<link rel="stylesheet" href="${href}">`)
    expect(missing.body).toContain('/#connect (“Connect a device”)')
  })

  it('inlines the stylesheet on the API port, which serves no files, allowing only its hash', async () => {
    const res = await fromPeer(`http://${peer.hostAddress}:${lk.apiPort}/remote-login?rt=wrong-token-value`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(401)
    expect(res.body).toMatch(/<style>[\s\S]*\.plain-page[\s\S]*<\/style>/)
    expect(res.body).not.toContain('<link rel="stylesheet"')
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*';/)
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(res.body).toContain(`http://localhost:${lk.dashboardPort}/#connect (“Connect a device”), make a new link or QR code there`)
    // The API port has no sign-in page to link to.
    expect(res.body).not.toContain('href="/"')
  })

  it('accepts a one-time link once; the replay is remote_token_invalid', async () => {
    const gen = track((await local(lk, '/api/remote/token/short-lived/generate', post({ oneTime: true }))).json())
    expect((await fromPeer(gen.url)).status).toBe(302)
    const replay = await fromPeer(gen.url, { headers: { accept: 'application/json' } })
    expect(replay.status).toBe(401)
    expect(replay.json().error).toBe('remote_token_invalid')
  })

  it('lets a link preview HEAD a one-time link without using it up or signing in', async () => {
    const gen = track((await local(lk, '/api/remote/token/short-lived/generate', post({ oneTime: true }))).json())
    const head = await fromPeer(gen.url, { method: 'HEAD', curlArgs: ['-I'] })
    expect(head.status).toBe(302)
    expect(head.headers.get('set-cookie')).toBeNull()
    const visit = await fromPeer(gen.url)
    expect(visit.status).toBe(302)
    expect(cookieOf(visit)).toStartWith('latchkey_session=')
  })

  it('marks the cookie Secure when served over https through the Cloudflare ingress', async () => {
    const gen = track((await local(lk, '/api/remote/token/short-lived/generate', post({}))).json())
    const res = await via(curlFrom.bind(null, null), `http://127.0.0.1:${cloudflareIngressPort(lk)}/remote-login?rt=${gen.token}`, {
      headers: { 'x-forwarded-proto': 'https', 'cf-connecting-ip': '198.51.100.20' },
    })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    expect(res.headers.get('set-cookie')).toContain('; Secure')
  })
})

describe('GET /api/remote/url, POST /api/remote-access/auth/login-url', () => {
  it('builds a persistent link, generating and storing the token once', async () => {
    expect(settingsToken()).toBeNull()
    const a = track((await local(lk, '/api/remote/url?tokenType=persistent')).json())
    expect(a).toMatchObject({ tokenType: 'persistent', expiresAt: null, oneTime: false, role: 'admin', source: 'connect-address' })
    const token = settingsToken()!
    expect(a.url).toBe(`${base}/remote-login?rt=${token}`)
    const b = (await local(lk, '/api/remote-access/auth/login-url', post({ mode: 'persistent' }))).json()
    expect(b.url).toBe(a.url)
  })

  it('builds short-lived links with expiresAt', async () => {
    const a = track((await local(lk, '/api/remote/url?tokenType=short-lived&ttlMs=60000')).json())
    expect(a.tokenType).toBe('short-lived')
    expect(a.ttlMs).toBe(60000)
    expect(Date.parse(a.expiresAt)).toBeGreaterThan(Date.now())
    const b = track((await local(lk, '/api/remote-access/auth/login-url', post({ mode: 'short-lived' }))).json())
    expect(b.url).not.toBe(a.url)
    expect(b.expiresAt).not.toBeNull()
  })

  it('names the field of a bad tokenType or mode', async () => {
    const url = await local(lk, '/api/remote/url?tokenType=forever')
    expect(url.status).toBe(400)
    expect(url.json().field).toBe('tokenType')
    for (const body of [{ mode: 'forever' }, {}]) {
      const res = await local(lk, '/api/remote-access/auth/login-url', post(body))
      expect(res.status).toBe(400)
      expect(res.json().field).toBe('mode')
    }
  })
})

describe('GET /api/remote/qr', () => {
  it('returns the JSON payload by default, one-time for short-lived links', async () => {
    const res = await local(lk, '/api/remote/qr?tokenType=short-lived')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = track(res.json())
    expect(body.url).toStartWith(`${base}/remote-login?rt=`)
    expect(body.oneTime).toBe(true)
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now())
    expect((await fromPeer(body.url)).status).toBe(302)
    expect((await fromPeer(body.url)).status).toBe(401)
  })

  it('returns an SVG and a PNG QR code', async () => {
    const svg = await local(lk, '/api/remote/qr?tokenType=persistent&format=image/svg')
    expect(svg.status).toBe(200)
    expect(svg.headers.get('content-type')).toBe('image/svg+xml')
    expect(svg.body).toContain('<svg')
    const png = await fetch(lk.url('/api/remote/qr?tokenType=short-lived&format=image/png'))
    expect(png.headers.get('content-type')).toBe('image/png')
    expect(png.headers.get('x-latchkey-expires-at')).not.toBeNull()
    const bytes = new Uint8Array(await png.arrayBuffer())
    expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  })

  it('names the field of a bad format', async () => {
    const res = await local(lk, '/api/remote/qr?format=image/gif')
    expect(res.status).toBe(400)
    expect(res.json().field).toBe('format')
  })
})

describe('devices: GET /api/remote/sessions, DELETE /api/remote/sessions/:id', () => {
  it('lists each signed-in device without its secret, and signs one out at once', async () => {
    const { cookie } = await signIn()
    const me = (await fromPeer(`${base}/api/whoami`, { headers: { cookie } })).json().session.id as string
    const res = await local(lk, '/api/remote/sessions')
    expect(res.status).toBe(200)
    const device = res.json().sessions.find((s: { id: string }) => s.id === me)
    expect(device).toMatchObject({ id: me, role: 'admin', issuer: 'short-lived', persistent: false, current: false })
    expect(device.userAgent).toContain('curl/')
    expect(Date.parse(device.firstSeenAt)).toBeLessThanOrEqual(Date.parse(device.lastSeenAt))
    expect(res.body).not.toContain(cookie.split('=')[1])
    expect(res.body).not.toContain('"hash"')
    const del = await local(lk, `/api/remote/sessions/${me}`, { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(del.json()).toEqual({ revoked: true, id: me })
    expect((await fromPeer(`${base}/api/remote/status`, { headers: { cookie } })).status).toBe(401)
    const again = await local(lk, `/api/remote/sessions/${me}`, { method: 'DELETE' })
    expect(again.status).toBe(404)
    expect(again.json().error).toBe('session_not_found')
  })
})

describe('viewer links', () => {
  it('give a read-only session that cannot call admin routes, but can sign itself out', async () => {
    const { cookie } = await signIn({ role: 'viewer' })
    const headers = { cookie }
    expect((await fromPeer(`${base}/api/whoami`, { headers })).json().role).toBe('viewer')
    expect((await fromPeer(`${base}/api/remote/status`, { headers })).status).toBe(200)
    const persistentBefore = settingsToken()
    const refused = [
      await fromPeer(`${base}/api/remote/token/short-lived/generate`, post({}, headers)),
      await fromPeer(`${base}/api/remote/token/persistent/regenerate`, post({}, headers)),
      await fromPeer(`${base}/api/remote/url?tokenType=persistent`, { headers }),
      await fromPeer(`${base}/api/remote/qr`, { headers }),
      await fromPeer(`${base}/api/remote/sessions`, { headers }),
      await fromPeer(`${base}/api/remote-access/auth/login-url`, post({ mode: 'short-lived' }, headers)),
    ]
    for (const res of refused) {
      expect(res.status).toBe(403)
      expect(res.body).not.toContain('rt=')
    }
    expect(settingsToken()).toBe(persistentBefore)
    // Another device's session is not the viewer's to end.
    const other = await signIn()
    const otherId = (await fromPeer(`${base}/api/whoami`, { headers: { cookie: other.cookie } })).json().session.id
    expect((await fromPeer(`${base}/api/remote/sessions/${otherId}`, { method: 'DELETE', headers })).status).toBe(403)
    expect((await fromPeer(`${base}/api/remote/status`, { headers: { cookie: other.cookie } })).status).toBe(200)
    const mine = (await fromPeer(`${base}/api/whoami`, { headers })).json().session.id
    expect((await fromPeer(`${base}/api/remote/sessions/${mine}`, { method: 'DELETE', headers })).status).toBe(200)
    expect((await fromPeer(`${base}/api/remote/status`, { headers })).status).toBe(401)
  })

  it('refuses every token route to an anonymous remote caller', async () => {
    for (const [method, path] of [
      ['POST', '/api/remote/token/short-lived/generate'],
      ['POST', '/api/remote/token/persistent/regenerate'],
      ['GET', '/api/remote/url'],
      ['GET', '/api/remote/qr'],
      ['GET', '/api/remote/sessions'],
      ['DELETE', '/api/remote/sessions/abc'],
      ['POST', '/api/remote-access/auth/login-url'],
    ]) {
      const res = await fromPeer(`${base}${path}`, method === 'POST' ? post({ mode: 'short-lived' }) : { method })
      expect(res.status).toBe(401)
    }
  })
})

describe('POST /api/remote/token/persistent/regenerate', () => {
  it('replaces the token and signs out every device it signed in', async () => {
    const link = track((await local(lk, '/api/remote/url?tokenType=persistent')).json())
    const res = await fromPeer(link.url)
    expect(res.status).toBe(302)
    const cookie = cookieOf(res)
    expect((await fromPeer(`${base}/api/remote/status`, { headers: { cookie } })).status).toBe(200)
    const old = settingsToken()!
    const regen = await local(lk, '/api/remote/token/persistent/regenerate', post({}))
    expect(regen.status).toBe(200)
    const body = regen.json()
    expect(body.revokedSessions).toBeGreaterThanOrEqual(1)
    expect(body.masked).toContain('•')
    expect(regen.body).not.toContain(settingsToken()!)
    expect(settingsToken()).not.toBe(old)
    expect((await fromPeer(`${base}/api/remote/status`, { headers: { cookie } })).status).toBe(401)
    const stale = await fromPeer(link.url, { headers: { accept: 'application/json' } })
    expect(stale.json().error).toBe('remote_token_invalid')
    const fresh = track((await local(lk, '/api/remote/url?tokenType=persistent')).json())
    expect(fresh.url).not.toBe(link.url)
    expect((await fromPeer(fresh.url)).status).toBe(302)
  })

  it('refuses a cross-site POST and changes nothing', async () => {
    const before = settingsToken()
    const evil = await local(lk, '/api/remote/token/persistent/regenerate', post({}, { origin: 'http://evil.example' }))
    expect(evil.status).toBe(403)
    expect(evil.json().error).toBe('cross_origin_refused')
    const site = await local(lk, '/api/remote/token/short-lived/generate', post({}, { 'sec-fetch-site': 'cross-site' }))
    expect(site.status).toBe(403)
    const form = await local(lk, '/api/remote/token/persistent/regenerate', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' })
    expect(form.status).toBe(415)
    expect(settingsToken()).toBe(before)
  })
})

describe('GET responses', () => {
  it('never show the persistent token (settings, status, access, devices, whoami)', async () => {
    const token = settingsToken()!
    const settings = await local(lk, '/api/remote/settings')
    expect(settings.status).toBe(200)
    const shown = settings.json().remoteAccess.tokenStrategy.persistent.token
    expect(shown).toContain('•')
    expect(shown).not.toBe(token)
    for (const path of ['/api/remote/settings', '/api/remote/status', '/api/access', '/api/remote/sessions', '/api/whoami']) {
      const res = await local(lk, path)
      expect(res.body).not.toContain(token)
    }
  })
})

describe('secrets', () => {
  it('leave no token in any Location header, error body or log line', async () => {
    expect(seen.tokens.size).toBeGreaterThan(10)
    const out = lk.output()
    for (const token of seen.tokens) {
      for (const l of seen.locations) expect(l).not.toContain(token)
      for (const b of seen.errorBodies) expect(b).not.toContain(token)
      expect(out).not.toContain(token)
    }
    expect(out).toContain('device signed in')
  })
})

describe('login URLs without a remote base', () => {
  it('answer 409 remote_base_unavailable when latchkey listens on loopback and no tunnel runs', async () => {
    const solo = await startLatchkey({ args: ['--host', '127.0.0.1'] })
    try {
      const res = await curlFrom(null, solo.url('/api/remote/url?tokenType=short-lived'))
      expect(res.status).toBe(409)
      expect(res.json().error).toBe('remote_base_unavailable')
      const gen = (await curlFrom(null, solo.url('/api/remote/token/short-lived/generate'), post({}))).json()
      expect(gen.url).toBeNull()
      expect(gen.token).toBeString()
    } finally {
      await solo.stop()
    }
  })
})
