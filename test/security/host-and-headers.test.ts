/**
 * Security regression suite (issue 10), one test per attack class: DNS rebinding, malformed
 * and duplicate Host headers, spoofed forwarding headers behind a trusted proxy, tunnel
 * ingress treated as remote, forged internal identity headers, polluting JSON keys,
 * oversized bodies and headers, slow clients. Loopback behaviour from 127.0.0.1, remote
 * behaviour from a network-namespace peer (test/helpers/netns.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, curlFrom, type Peer } from '../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { rawHttp } from '../helpers/raw-http.ts'

let lk: Latchkey
let proxied: Latchkey
const PROXIED_TOKEN = 'proxied-fixed-token-0123456789abcdef'
let peer: Peer
const local = (path: string, init?: Parameters<typeof curlFrom>[2]) => curlFrom(null, lk.url(path), init)
/** GET /api/connect answers the local admin with the token link: the prize of every attack here. */
const gotToken = (body: string) => body.includes('"tokenIncluded":true') || (lk.token !== null && body.includes(lk.token))
const raw = (port: number, lines: string[], body = '') => rawHttp(port, [...lines, 'Connection: close', '', body].join('\r\n'))

beforeAll(async () => {
  peer = createPeer()
  ;[lk, proxied] = await Promise.all([
    startLatchkey({ args: ['--host', '0.0.0.0'] }),
    // A latchkey behind a reverse proxy on this machine (the proxy's address is 127.0.0.1).
    startLatchkey({ args: ['--trusted-proxies', '127.0.0.1'], env: { LATCHKEY_AUTH_TOKEN: PROXIED_TOKEN } }),
  ])
})
afterAll(async () => {
  await Promise.all([lk?.stop(), proxied?.stop()])
  peer?.destroy()
})

describe('DNS rebinding', () => {
  it('gives a loopback request naming another host no exemption: not on the API, not on the page', async () => {
    // The control: the same request with Host 127.0.0.1:<port> gets the token link.
    expect(gotToken((await local('/api/connect')).body)).toBe(true)
    const names = ['attacker.example', 'localhost.attacker.example', '127.0.0.1.nip.io', 'localhost.', `localhost.:${lk.dashboardPort}`, '127.1', '2130706433', '0x7f000001', '[::ffff:127.0.0.1]', '0.0.0.0']
    const bad: string[] = []
    for (const host of names) {
      const api = await local('/api/connect', { headers: { host } })
      const who = (await local('/api/whoami', { headers: { host } })).json()
      const page = await local('/', { headers: { host, accept: 'text/html' } })
      if (api.status !== 401 && api.status !== 400) bad.push(`${host}: /api/connect ${api.status}`)
      // 400 bad_host (refused before routing) or no identity at all.
      if (gotToken(api.body) || (who.error !== 'bad_host' && (who.role !== 'none' || who.local))) bad.push(`${host}: ${JSON.stringify(who)}`)
      if (page.body.includes('data-panel="status"')) bad.push(`${host}: dashboard page served`)
    }
    expect(bad).toEqual([])
  })
})

describe('malformed and duplicate Host headers', () => {
  it('refuses or treats as remote every malformed, duplicated or conflicting Host', async () => {
    const port = lk.dashboardPort
    const cases: [string, string[]][] = [
      ['two identical Hosts', [`GET /api/connect HTTP/1.1`, `Host: localhost:${port}`, `Host: localhost:${port}`]],
      ['a local and a foreign Host', [`GET /api/connect HTTP/1.1`, 'Host: evil.example', `Host: localhost:${port}`]],
      ['a comma list', [`GET /api/connect HTTP/1.1`, `Host: localhost:${port}, evil.example`]],
      ['an empty Host', [`GET /api/connect HTTP/1.1`, 'Host: ']],
      ['userinfo', [`GET /api/connect HTTP/1.1`, `Host: evil.example@localhost:${port}`]],
      ['two ports', [`GET /api/connect HTTP/1.1`, `Host: localhost:${port}:80`]],
      ['a port out of range', [`GET /api/connect HTTP/1.1`, 'Host: localhost:99999']],
      ['an unclosed IPv6 literal', [`GET /api/connect HTTP/1.1`, 'Host: [::1']],
      ['a path in the Host', [`GET /api/connect HTTP/1.1`, `Host: localhost:${port}/x`]],
      ['HTTP/1.0 without Host', ['GET /api/connect HTTP/1.0']],
      ['absolute-form with a foreign Host', [`GET http://localhost:${port}/api/connect HTTP/1.1`, 'Host: evil.example']],
      ['a Host next to X-Forwarded-Host', [`GET /api/connect HTTP/1.1`, `Host: localhost:${port}`, 'X-Forwarded-Host: evil.example']],
    ]
    const bad: string[] = []
    for (const [name, lines] of cases) {
      const res = await raw(port, lines)
      if (res.status !== 400 && res.status !== 401) bad.push(`${name}: ${res.status}`)
      if (gotToken(res.raw)) bad.push(`${name}: token link served`)
    }
    expect(bad).toEqual([])
  })
})

describe('spoofed forwarding headers', () => {
  it('behind a trusted proxy, takes the right-most untrusted hop as the client and never the local user', async () => {
    const url = (path: string) => proxied.url(path)
    // Whatever the proxy reports, the request came through a proxy: never the local user,
    // never admin without a credential, and the handler never runs.
    const through: Record<string, string>[] = [
      { 'x-forwarded-for': '127.0.0.1, 203.0.113.9' },
      { 'x-forwarded-for': '203.0.113.9' },
      { 'x-forwarded-for': '::1, 198.51.100.7' },
      { 'x-forwarded-for': 'localhost, 203.0.113.9' },
      { 'x-forwarded-for': '203.0.113.9, 127.0.0.1' },
      { 'x-forwarded-for': '127.0.0.1' },
      { forwarded: 'for=127.0.0.1;proto=http' },
      { forwarded: 'for="[::1]:51000"' },
      { 'x-real-ip': '127.0.0.1' },
      { 'tailscale-funnel-request': '?1', 'x-forwarded-for': '127.0.0.1' },
      {},
    ]
    for (const headers of through) {
      const who = (await curlFrom(null, url('/api/whoami'), { headers })).json()
      expect({ headers, role: who.role, local: who.local }).toEqual({ headers, role: 'none', local: false })
      const connect = await curlFrom(null, url('/api/connect'), { headers })
      expect({ headers, status: connect.status, ran: gotToken(connect.body) }).toEqual({ headers, status: 401, ran: false })
    }
    // The client is the right-most hop that is not the trusted proxy itself.
    expect((await curlFrom(null, url('/api/whoami'), { headers: { 'x-forwarded-for': '127.0.0.1, 198.51.100.7' } })).json().address).toBe('198.51.100.7')
    expect((await curlFrom(null, url('/api/whoami'), { headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.9, 127.0.0.1' } })).json().address).toBe('203.0.113.9')
    expect((await curlFrom(null, url('/api/whoami'), { headers: { forwarded: 'for=192.0.2.60, for="[2001:db8::7]:4711"' } })).json().address).toBe('2001:db8::7')
    // Through the proxy, a credential works as it does anywhere else.
    expect((await curlFrom(null, url('/api/whoami'), { headers: { 'x-forwarded-for': '203.0.113.9', authorization: `Bearer ${PROXIED_TOKEN}` } })).json().role).toBe('admin')
    // A peer that is not the trusted proxy gets nothing from the same header.
    const fromPeer = await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/whoami`, { headers: { 'x-forwarded-for': '127.0.0.1', host: `localhost:${lk.dashboardPort}` } })
    expect(fromPeer.json()).toMatchObject({ role: 'none', local: false })
  })

  it('ends the loopback exemption for a direct request with Via, as for any proxy header', async () => {
    for (const headers of [{ via: '1.1 squid' }, { 'x-client-ip': '127.0.0.1' }, { 'cf-ray': '8a1b2c3d4e5f-AMS' }] as Record<string, string>[]) {
      const res = await local('/api/connect', { headers })
      expect({ headers, status: res.status, ran: gotToken(res.body) }).toEqual({ headers, status: 401, ran: false })
    }
    expect((await local('/api/connect')).status).toBe(200) // the control
  })
})

describe('tunnel ingress', () => {
  it('treats a request that looks exactly like the local user as remote on both ingresses', async () => {
    for (const port of [lk.tailscaleIngressPort, lk.cloudflareIngressPort]) {
      // Host names the ingress itself on localhost, no forwarding header: still remote.
      const lines = (path: string, method = 'GET') => [`${method} ${path} HTTP/1.1`, `Host: localhost:${port}`]
      const api = await raw(port, lines('/api/connect'))
      expect(api.status).toBe(401)
      expect(gotToken(api.raw)).toBe(false)
      const page = await raw(port, [...lines('/'), 'Accept: text/html'])
      expect(page.status).toBe(401)
      const post = await raw(port, [...lines('/api/remote/token/persistent/regenerate', 'POST'), 'Content-Type: application/json', 'Content-Length: 2'], '{}')
      expect(post.status).toBe(401)
    }
  })
})

describe('forged internal identity headers', () => {
  it('refuses x-latchkey-* in any spelling, even next to a valid credential, from loopback and from a peer', async () => {
    const identity = Buffer.from(JSON.stringify({ role: 'admin', via: 'api-key', key: 'api-key' })).toString('base64url')
    const forgeries: Record<string, string>[] = [
      { 'X-Latchkey-Identity': identity },
      { 'x-latchkey-internal-auth': '' },
      { 'X-LATCHKEY-INTERNAL-AUTH': 'a'.repeat(43), 'x-latchkey-identity': identity },
      { 'x-latchkey-user': 'tailscale:12345' },
    ]
    const bearer = { authorization: `Bearer ${lk.token}` }
    for (const h of forgeries) {
      // Raw, so an empty value is sent as written (curl drops empty headers).
      const mine = await raw(lk.apiPort, ['GET /api/remote/settings HTTP/1.1', `Host: 127.0.0.1:${lk.apiPort}`, ...Object.entries(h).map(([k, v]) => `${k}: ${v}`)])
      expect({ h, status: mine.status }).toEqual({ h, status: 403 })
      // curl sends an empty header only as "Name;".
      const empty = Object.entries(h).filter(([, v]) => v === '').flatMap(([k]) => ['-H', `${k};`])
      const full = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== ''))
      const withToken = await peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/api/remote/settings`, { headers: { ...full, ...bearer }, curlArgs: empty })
      expect(withToken.status).toBe(403)
      expect(withToken.json().message).toContain('forged internal identity header')
    }
    // The control: the token alone works from the peer.
    expect((await peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/api/remote/settings`, { headers: bearer })).status).toBe(200)
  })
})

describe('polluting JSON keys', () => {
  it('refuses __proto__ and other inherited names in settings and preferences by field, and keeps answering', async () => {
    const settings = join(lk.dataDir, 'settings.json')
    const before = (() => {
      try {
        return readFileSync(settings, 'utf8')
      } catch {
        return '(none)'
      }
    })()
    const puts: [string, string][] = [
      ['/api/remote/settings', '{"__proto__": {"bad header": "x", "enabled": true}}'],
      ['/api/settings/global', '{"remoteAccess": {"providers": {"__proto__": {"polluted": 1}}}}'],
      ['/api/remote/settings', '{"constructor": {"prototype": {"polluted": 1}}}'],
      ['/api/remote/settings', '{"tokenStrategy": {"toString": 1}}'],
      ['/api/preferences', '{"__proto__": {"theme": "dark"}}'],
      ['/api/preferences', '{"hasOwnProperty": 1}'],
    ]
    for (const [path, body] of puts) {
      const res = await local(path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body })
      expect({ path, body, status: res.status }).toEqual({ path, body, status: 400 })
      expect(res.json().field).toBeString()
    }
    // Nothing reached Object.prototype: every route still answers, and nothing was written.
    for (const path of ['/api/remote/status', '/api/remote/settings', '/api/preferences', '/api/apps']) expect((await local(path)).status).toBe(200)
    const after = (() => {
      try {
        return readFileSync(settings, 'utf8')
      } catch {
        return '(none)'
      }
    })()
    expect(after).toBe(before)
    expect(lk.output()).not.toContain('request failed')
  })
})

describe('oversized bodies and headers', () => {
  it('answers oversized API bodies with 413 (declared) or a clean 4xx (chunked) on every listener, and oversized headers with 431', async () => {
    const big = JSON.stringify({ filter: 'a'.repeat(2 * 1024 * 1024) })
    const json = { 'content-type': 'application/json' }
    for (const listener of ['dashboard', 'api'] as const) {
      const res = await curlFrom(null, lk.url('/api/preferences', listener), { method: 'PUT', headers: json, body: big })
      expect(res.status).toBe(413)
      const chunked = await curlFrom(null, lk.url('/api/preferences', listener), { method: 'PUT', headers: { ...json, 'transfer-encoding': 'chunked' }, body: big })
      expect(chunked.status).toBeGreaterThanOrEqual(400)
      expect(chunked.status).toBeLessThan(500)
    }
    // Through a tunnel ingress (which also carries large app uploads), as an anonymous caller.
    const ingress = await curlFrom(null, `http://127.0.0.1:${lk.cloudflareIngressPort}/api/remote/settings`, { method: 'PUT', headers: { ...json, host: 'x.trycloudflare.com' }, body: big })
    expect([401, 413]).toContain(ingress.status)
    const header = await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/whoami`, { headers: { 'x-big': 'a'.repeat(64 * 1024) } })
    expect(header.status).toBe(431)
    expect((await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/health`)).status).toBe(200)
    expect(lk.output()).not.toContain('request failed')
  })
})

describe('slow clients', () => {
  it('closes a request whose headers never finish, while serving everyone else meanwhile', async () => {
    const started = Date.now()
    const sockets = [lk.dashboardPort, lk.apiPort].map((port) => {
      const s = connect(port, '127.0.0.1', () => s.write(`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: a`))
      s.on('error', () => {})
      // Drip a byte now and then, as slowloris does, to defeat a plain idle timer.
      const drip = setInterval(() => s.writable && s.write('a'), 2000)
      return { s, drip, closed: new Promise<number>((r) => s.on('close', () => (clearInterval(drip), r(Date.now() - started)))) }
    })
    // Meanwhile other clients are served at once.
    while (Date.now() - started < 3000) {
      const t = Date.now()
      expect((await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/health`)).status).toBe(200)
      expect(Date.now() - t).toBeLessThan(1000)
      await Bun.sleep(200)
    }
    const closedAfter = await Promise.race([Promise.all(sockets.map((x) => x.closed)), Bun.sleep(25_000).then(() => null)])
    for (const x of sockets) (clearInterval(x.drip), x.s.destroy())
    expect(closedAfter).not.toBeNull()
    for (const ms of closedAfter!) expect(ms).toBeLessThan(25_000)
  }, 40_000)
})
