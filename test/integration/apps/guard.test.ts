/**
 * The guard on every app listener is the dashboard's guard: the same answers for the same
 * callers (remote anonymous 401, Bearer token ok, loopback exempt, loopback with
 * X-Forwarded-For remote), checked against the upstream's record of what reached it; and
 * latchkey's secrets and spoofed identity headers never reach the app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startUpstream, type Upstream } from './upstream.ts'
import { appPort } from './peer-tools.ts'

let up: Upstream
let peer: Peer
let lk: Latchkey
let portApp: number
let idApp: number

beforeAll(async () => {
  up = startUpstream()
  peer = createPeer()
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0'],
    yaml: [
      'apps:',
      `  - { name: plain, target: "${up.url}", port: 0 }`,
      `  - { name: who, target: "${up.url}", port: 0, identityHeaders: true }`,
      `  - { name: inpath, target: "${up.url}" }`,
      '',
    ].join('\n'),
  })
  portApp = await appPort(lk, 'plain')
  idApp = await appPort(lk, 'who')
})

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await up?.stop()
})

type Row = { name: string; from: 'peer' | 'loopback'; headers?: () => Record<string, string>; status: number }
const rows: Row[] = [
  { name: 'remote without a credential', from: 'peer', status: 401 },
  { name: 'remote with a wrong Bearer token', from: 'peer', headers: () => ({ authorization: 'Bearer wrong-token-123456' }), status: 401 },
  { name: 'remote with the Bearer token', from: 'peer', headers: () => ({ authorization: `Bearer ${lk.token}` }), status: 200 },
  { name: 'loopback', from: 'loopback', status: 200 },
  { name: 'loopback with X-Forwarded-For', from: 'loopback', headers: () => ({ 'x-forwarded-for': '203.0.113.9' }), status: 401 },
]

/** Send from the peer or from 127.0.0.1 to a listener port and path. */
function send(row: Row, port: number, path: string) {
  const host = row.from === 'peer' ? peer.hostAddress : '127.0.0.1'
  const init = { headers: { accept: 'application/json', ...(row.headers?.() ?? {}) } }
  return row.from === 'peer' ? peer.fetch(`http://${host}:${port}${path}`, init) : curlFrom(null, `http://${host}:${port}${path}`, init)
}

describe('app listener guard', () => {
  for (const row of rows) {
    it(`answers ${row.status} to ${row.name}, exactly as the dashboard does`, async () => {
      const dashboard = await send(row, lk.dashboardPort, '/api/whoami?probe=1')
      const whoami = dashboard.json()
      expect(whoami.authenticated).toBe(row.status === 200)
      for (const [port, path] of [[portApp, '/echo'], [lk.dashboardPort, '/apps/inpath/echo']] as const) {
        const mark = `/${row.name.replace(/\W+/g, '-')}-${port}`
        const res = await send(row, port, `${path}${mark}`.replace('/echo/', '/echo-'))
        expect(res.status).toBe(row.status)
        const reached = up.received.some((q) => q.path.includes(mark.slice(1)))
        expect(reached).toBe(row.status === 200)
      }
    })
  }
})

describe('app proxy secrets', () => {
  it('never forwards the session cookie or Authorization, and sets X-Forwarded-*', async () => {
    // Sign in from the peer with the token link, as a phone would: a session cookie comes back.
    const login = await peer.fetch(`http://${peer.hostAddress}:${portApp}/?token=${lk.token}`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect(login.status).toBe(302)
    expect(login.headers.get('location')).toBe('/')
    const cookie = /latchkey_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0]
    const res = await peer.fetch(`http://${peer.hostAddress}:${portApp}/secret-check?keep=1`, {
      headers: { cookie: `${cookie}; app_pref=dark`, 'x-forwarded-for': '203.0.113.9', 'x-forwarded-host': 'evil.example', forwarded: 'for=203.0.113.9' },
    })
    expect(res.status).toBe(200)
    const seen = up.received.find((q) => q.path.startsWith('/secret-check'))!
    expect(seen.path).toBe('/secret-check?keep=1')
    expect(seen.headers.cookie).toBe('app_pref=dark')
    expect(seen.headers.authorization).toBeUndefined()
    expect(seen.headers.forwarded).toBeUndefined()
    expect(seen.headers['x-forwarded-for']).toBe(peer.peerAddress)
    expect(seen.headers['x-forwarded-host']).toBe(`${peer.hostAddress}:${portApp}`)
    expect(seen.headers['x-forwarded-proto']).toBe('http')
  })

  it('does not forward a ?token= that was latchkey\'s, but keeps an app\'s own', async () => {
    await peer.fetch(`http://${peer.hostAddress}:${portApp}/tok-ours?token=${lk.token}&a=1`)
    await curlFrom(null, `http://127.0.0.1:${portApp}/tok-app?token=the-apps-own`)
    expect(up.received.find((q) => q.path.startsWith('/tok-ours'))!.path).toBe('/tok-ours?a=1')
    expect(up.received.find((q) => q.path.startsWith('/tok-app'))!.path).toBe('/tok-app?token=the-apps-own')
  })

  it('refuses a request carrying a spoofed x-latchkey identity header before it reaches the app', async () => {
    const res = await peer.fetch(`http://${peer.hostAddress}:${idApp}/spoof-latchkey`, { headers: { authorization: `Bearer ${lk.token}`, 'x-latchkey-user': 'tailscale:1', 'x-latchkey-role': 'admin' } })
    expect(res.status).toBe(403)
    expect(up.received.some((q) => q.path.startsWith('/spoof-latchkey'))).toBe(false)
  })

  it('replaces spoofed Tailscale identity headers with the caller latchkey identified', async () => {
    const res = await peer.fetch(`http://${peer.hostAddress}:${idApp}/spoof-ts`, { headers: { authorization: `Bearer ${lk.token}`, 'tailscale-user-login': 'boss@example.com', 'tailscale-user-name': 'Boss' } })
    expect(res.status).toBe(200)
    const seen = up.received.find((q) => q.path.startsWith('/spoof-ts'))!
    expect(seen.headers['tailscale-user-login']).toBeUndefined()
    expect(seen.headers['tailscale-user-name']).toBeUndefined()
    expect(seen.headers['x-latchkey-user']).toBe('token')
    expect(seen.headers['x-latchkey-role']).toBe('admin')
    expect(seen.headers['x-latchkey-via']).toBe('access-token')
  })

  it('sends no identity headers to an app that did not ask for them', async () => {
    await peer.fetch(`http://${peer.hostAddress}:${portApp}/no-identity`, { headers: { authorization: `Bearer ${lk.token}` } })
    const seen = up.received.find((q) => q.path.startsWith('/no-identity'))!
    expect(Object.keys(seen.headers).filter((h) => h.startsWith('x-latchkey-'))).toEqual([])
  })
})
