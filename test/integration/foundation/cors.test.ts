/** CORS: only allowed origins get CORS headers (with credentials); refused ones get none. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { curlFrom } from '../../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'

let lk: Latchkey
const corsHeaders = (h: Headers) => [...h.keys()].filter((k) => k.startsWith('access-control-'))

beforeAll(async () => {
  lk = await startLatchkey({ args: ['--host', '127.0.0.1', '--allowed-origins', 'laptop.tailnet.ts.net,https://phone.example:8443'] })
})
afterAll(() => lk?.stop())

describe('CORS', () => {
  it('gives an allowed hostname, on latchkey\'s own ports, credentials and its exact origin', async () => {
    for (const port of [lk.dashboardPort, lk.apiPort]) {
      const res = await curlFrom(null, lk.url('/api/health', 'api'), { headers: { origin: `http://laptop.tailnet.ts.net:${port}` } })
      expect(res.headers.get('access-control-allow-origin')).toBe(`http://laptop.tailnet.ts.net:${port}`)
      expect(res.headers.get('access-control-allow-credentials')).toBe('true')
      expect(res.headers.get('vary')).toContain('Origin')
    }
  })

  it('refuses an allowed hostname on any other port: a port is its own origin', async () => {
    for (const origin of ['http://laptop.tailnet.ts.net:3999', 'http://laptop.tailnet.ts.net', 'https://laptop.tailnet.ts.net', `http://localhost:${lk.dashboardPort + 1}`]) {
      const res = await curlFrom(null, lk.url('/api/health', 'api'), { headers: { origin } })
      expect([origin, corsHeaders(res.headers)]).toEqual([origin, []])
    }
  })

  it('matches a full-origin entry exactly, port included', async () => {
    const ok = await curlFrom(null, lk.url('/api/health', 'api'), { headers: { origin: 'https://phone.example:8443' } })
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://phone.example:8443')
    const otherPort = await curlFrom(null, lk.url('/api/health', 'api'), { headers: { origin: 'https://phone.example:9443' } })
    expect(corsHeaders(otherPort.headers)).toEqual([])
  })

  it('lets the local dashboard port call the API port', async () => {
    const res = await curlFrom(null, lk.url('/api/health', 'api'), { headers: { origin: `http://localhost:${lk.dashboardPort}` } })
    // Started with --port 0: the policy uses the bound dashboard port.
    expect(res.headers.get('access-control-allow-origin')).toBe(`http://localhost:${lk.dashboardPort}`)
  })

  it.each(['http://evil.example', 'null', 'http://laptop.tailnet.ts.net.evil.example', 'file://x'])('sends no CORS header at all to %s', async (origin) => {
    const res = await curlFrom(null, lk.url('/api/health', 'api'), { headers: { origin } })
    expect(res.status).toBe(200)
    expect(corsHeaders(res.headers)).toEqual([])
  })

  it('answers an allowed preflight with methods, headers and credentials', async () => {
    const res = await curlFrom(null, lk.url('/api/session/logout', 'api'), {
      method: 'OPTIONS',
      headers: { origin: `http://laptop.tailnet.ts.net:${lk.dashboardPort}`, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(`http://laptop.tailnet.ts.net:${lk.dashboardPort}`)
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type')
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
  })

  it('answers a refused preflight with no CORS header, so the browser blocks the request', async () => {
    const res = await curlFrom(null, lk.url('/api/session/logout', 'api'), {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(corsHeaders(res.headers)).toEqual([])
  })

  it('lets an allowed page read refusals too: a 401 and a 429 carry its CORS headers', async () => {
    // X-Forwarded-For makes the loopback request remote (no exemption), so the guard answers.
    const allowed = `http://laptop.tailnet.ts.net:${lk.dashboardPort}`
    const headers = { origin: allowed, 'x-forwarded-for': '203.0.113.7' }
    const refused = await curlFrom(null, lk.url('/api/access', 'api'), { headers })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe(allowed)
    let last = refused
    for (let i = 0; i < 12 && last.status !== 429; i++) {
      last = await curlFrom(null, lk.url('/api/access', 'api'), { headers: { ...headers, authorization: 'Bearer wrong-guess-0123456789' } })
    }
    expect(last.status).toBe(429)
    expect(last.headers.get('access-control-allow-origin')).toBe(allowed)
    expect(last.headers.get('access-control-expose-headers')).toContain('Retry-After')
    const foreign = await curlFrom(null, lk.url('/api/access', 'api'), { headers: { ...headers, origin: 'http://evil.example', authorization: 'Bearer wrong-guess-0123456789' } })
    expect(foreign.status).toBe(429)
    expect(corsHeaders(foreign.headers)).toEqual([])
  })

  it('adds a concrete --host to the allowlist automatically', async () => {
    const other = await startLatchkey({ args: ['--host', '127.0.0.2'] })
    try {
      const origin = `http://127.0.0.2:${other.dashboardPort}`
      const res = await curlFrom(null, `http://127.0.0.2:${other.apiPort}/api/health`, { headers: { origin } })
      expect(res.headers.get('access-control-allow-origin')).toBe(origin)
      const elsewhere = await curlFrom(null, `http://127.0.0.2:${other.apiPort}/api/health`, { headers: { origin: 'http://127.0.0.2:3999' } })
      expect(corsHeaders(elsewhere.headers)).toEqual([])
    } finally {
      await other.stop()
    }
  })
})
