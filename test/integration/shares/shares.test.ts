/**
 * Share links end to end (issue 20, part 1): latchkey (a child process, the compiled binary
 * with LATCHKEY_TEST_BINARY) fronts a real upstream; the admin makes share links through the
 * API on 127.0.0.1 and a namespace peer opens them with curl, as a phone would. A shared
 * session reaches its app and nothing else (403 and a sentence everywhere outside it, in
 * port and path mode), view only refuses POST and WebSockets, the device limit holds,
 * revocation ends the sessions before the DELETE has answered, a share.opened webhook
 * arrives with no secret in it, the link works through the Cloudflare tunnel ingress, and
 * shares and their sessions survive a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, curlFrom, type Peer, type PeerResponse } from '../../helpers/netns.ts'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { startUpstream, type Upstream } from '../apps/upstream.ts'
import { appPort } from '../apps/peer-tools.ts'
import { startReceiver, type Receiver } from '../webhooks/receiver.ts'
import { cookieOf, post } from '../tokens/lib.ts'

let up: Upstream
let peer: Peer
let rx: Receiver
let lk: Latchkey
let dataDir: string
let notesPort: number
let otherPort: number
/** Every link secret and cookie made here: none may show up in a payload, a log or a Location. */
const secrets = new Set<string>()

const yaml = () =>
  [
    'apps:',
    `  - { name: notes, target: "${up.url}", port: 0 }`,
    `  - { name: other, target: "${up.url}", port: 0 }`,
    `  - { name: wiki, target: "${up.url}" }`,
    `  - { name: vault, target: "${up.url}", role: admin }`,
    'webhooks:',
    `  - { url: "${rx.url}", events: [share.opened] }`,
    '',
  ].join('\n')

const local = (path: string, init = {}) => curlFrom(null, lk.url(path), init)
const dash = (path: string) => `http://${peer.hostAddress}:${lk.dashboardPort}${path}`
const onPort = (port: number, path: string) => `http://${peer.hostAddress}:${port}${path}`
const nav = { accept: 'text/html', 'sec-fetch-mode': 'navigate' }
const asJson = (cookie: string) => ({ headers: { cookie, accept: 'application/json' } })

/** Make a share as the local admin; the link and its secret are remembered. */
async function share(app: string, body: Record<string, unknown> = {}): Promise<{ id: string; url: string; expiresAt: string; opened: number; viewOnly: boolean; maxDevices: number | null }> {
  const res = await local(`/api/apps/${app}/shares`, post({ address: peer.hostAddress, ...body }))
  expect(res.status).toBe(201)
  const created = res.json()
  secrets.add(new URL(created.url).searchParams.get('latchkey_share')!)
  return created
}

/** Open a link from the peer as a browser would: the 302 and the session cookie it sets. */
async function open(url: string, headers: Record<string, string> = {}): Promise<{ res: PeerResponse; cookie: string }> {
  const res = await peer.fetch(url, { headers: { ...nav, 'user-agent': 'PhoneBrowser/3.0', ...headers } })
  expect(res.status).toBe(302)
  const cookie = cookieOf(res)
  secrets.add(cookie.split('=')[1])
  return { res, cookie }
}

beforeAll(async () => {
  up = startUpstream()
  rx = await startReceiver()
  peer = createPeer()
  dataDir = tempDir('lk-shares-')
  lk = await startLatchkey({ args: ['--host', '0.0.0.0'], dataDir, yaml: yaml() })
  notesPort = await appPort(lk, 'notes')
  otherPort = await appPort(lk, 'other')
})

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await rx?.close()
  await up?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('creating a share link', () => {
  it('answers the admin with a link on the app\'s own port that carries its secret in a query parameter', async () => {
    const s = await share('notes', { ttlMinutes: 30, viewOnly: false })
    const url = new URL(s.url)
    expect(url.origin).toBe(`http://${peer.hostAddress}:${notesPort}`)
    expect(url.pathname).toBe('/')
    expect(url.searchParams.get('latchkey_share')!.length).toBeGreaterThanOrEqual(43)
    expect(Date.parse(s.expiresAt) - Date.now()).toBeGreaterThan(29 * 60_000)
    expect(Date.parse(s.expiresAt) - Date.now()).toBeLessThanOrEqual(30 * 60_000)
    expect(s.opened).toBe(0)
  })

  it('puts a path-mode app\'s link under its prefix on the dashboard port', async () => {
    const s = await share('wiki')
    expect(s.url).toStartWith(`http://${peer.hostAddress}:${lk.dashboardPort}/apps/wiki/?latchkey_share=`)
  })

  it('refuses bad input with 400 naming the field, and makes no share', async () => {
    const before = (await local('/api/shares')).json().shares.length
    const cases: [Record<string, unknown>, string][] = [
      [{ ttlMinutes: 5 }, 'ttlMinutes'],
      [{ ttlMinutes: 10081 }, 'ttlMinutes'],
      [{ ttlMs: 1000 }, 'ttlMs'],
      [{ ttlMs: 3_600_000, ttlMinutes: 60 }, 'ttlMs'],
      [{ maxDevices: 0 }, 'maxDevices'],
      [{ maxDevices: 101 }, 'maxDevices'],
      [{ viewOnly: 'yes' }, 'viewOnly'],
      [{ address: '203.0.113.77' }, 'address'],
    ]
    for (const [body, field] of cases) {
      const res = await local('/api/apps/notes/shares', post(body))
      expect(res.status).toBe(400)
      expect(res.json().field).toBe(field)
    }
    expect((await local('/api/apps/nope/shares', post({}))).status).toBe(404)
    expect((await local('/api/shares')).json().shares.length).toBe(before)
  })

  it('serves a new share as a QR payload (SVG, PNG or JSON), never to another site', async () => {
    const svg = await local(`/api/apps/wiki/shares/qr?ttlMinutes=20&viewOnly=true&format=image/svg&address=${peer.hostAddress}`)
    expect(svg.status).toBe(200)
    expect(svg.headers.get('content-type')).toBe('image/svg+xml')
    expect(svg.headers.get('cache-control')).toBe('no-store')
    expect(svg.body).toStartWith('<svg')
    const id = svg.headers.get('x-latchkey-share-id')
    expect((await local('/api/shares')).json().shares.find((x: { id: string }) => x.id === id)).toMatchObject({ app: 'wiki', viewOnly: true })
    const png = await curlFrom(null, lk.url(`/api/apps/wiki/shares/qr?format=image/png&address=${peer.hostAddress}`), { curlArgs: ['-o', '/dev/null', '-D', '-'] })
    expect(png.status).toBe(200)
    expect(png.headers.get('content-type')).toBe('image/png')
    const json = await local(`/api/apps/wiki/shares/qr?address=${peer.hostAddress}`)
    expect(json.json().url).toStartWith(`http://${peer.hostAddress}:${lk.dashboardPort}/apps/wiki/?latchkey_share=`)
    secrets.add(new URL(json.json().url).searchParams.get('latchkey_share')!)
    const before = (await local('/api/shares')).json().shares.length
    const foreign = await local('/api/apps/wiki/shares/qr?format=image/svg', { headers: { 'sec-fetch-site': 'cross-site' } })
    expect(foreign.status).toBe(403)
    expect((await local('/api/shares')).json().shares.length).toBe(before)
  })

  it('is admin only: a remote caller without a credential gets 401', async () => {
    expect((await peer.fetch(dash('/api/apps/notes/shares'), post({}))).status).toBe(401)
    expect((await peer.fetch(dash('/api/shares'))).status).toBe(401)
  })
})

describe('a shared session (port mode)', () => {
  let s: Awaited<ReturnType<typeof share>>
  let cookie: string

  beforeAll(async () => {
    s = await share('notes')
    ;({ cookie } = await open(s.url))
  })

  it('is exchanged for a session cookie and a redirect without the secret', async () => {
    const again = await peer.fetch(`${s.url.replace('/?', '/deep/page?x=1&')}`, { headers: nav })
    expect(again.status).toBe(302)
    expect(again.headers.get('location')).toBe('/deep/page?x=1')
    // The upstream never saw the link.
    for (const r of up.received) for (const secret of secrets) expect(r.path).not.toContain(secret)
  })

  it('reaches its app, reading and writing', async () => {
    const get = await peer.fetch(onPort(notesPort, '/echo-shared'), asJson(cookie))
    expect(get.status).toBe(200)
    expect(get.json().path).toBe('/echo-shared')
    const put = await peer.fetch(onPort(notesPort, '/echo-write'), { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' })
    expect(put.status).toBe(200)
    expect(up.received.some((r) => r.method === 'POST' && r.path === '/echo-write')).toBe(true)
  })

  it('answers /api/whoami and the caller\'s own preferences', async () => {
    const who = await peer.fetch(dash('/api/whoami'), asJson(cookie))
    expect(who.status).toBe(200)
    expect(who.json()).toMatchObject({ authenticated: true, role: 'viewer', method: 'share', share: { app: 'notes', viewOnly: false } })
    expect((await peer.fetch(dash('/api/preferences'), asJson(cookie))).status).toBe(200)
    const put = await peer.fetch(dash('/api/preferences'), { method: 'PUT', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ theme: 'dark' }) })
    expect(put.status).toBe(200)
    expect(put.json().preferences.theme).toBe('dark')
  })

  it('is refused everywhere else with 403 and a sentence saying why', async () => {
    const refused: [string, string, string?][] = [
      ['GET', dash('/api/apps')],
      ['GET', dash('/api/remote/status')],
      ['GET', dash('/api/remote/sessions')],
      ['GET', dash('/api/shares')],
      ['GET', dash('/api/access')],
      ['POST', dash('/api/apps/notes/shares'), '{}'],
      ['POST', dash('/api/session/logout'), '{}'],
      ['GET', `http://${peer.hostAddress}:${lk.apiPort}/api/apps`],
      ['GET', onPort(otherPort, '/echo-other')],
      ['GET', dash('/apps/wiki/echo-wiki')],
      ['GET', dash('/apps/vault/echo-vault')],
    ]
    const before = up.received.length
    for (const [method, url, body] of refused) {
      const res = await peer.fetch(url, { method, headers: { cookie, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, body })
      expect(`${method} ${url} → ${res.status}`).toBe(`${method} ${url} → 403`)
      expect(res.json().error).toBe('share_scope')
      expect(res.json().message).toContain('share link for the app "notes"')
    }
    // No other app was reached.
    expect(up.received.slice(before)).toEqual([])
  })

  it('narrows no one else: the local user holding the cookie keeps its own admin access', async () => {
    expect((await local('/api/shares', { headers: { cookie } })).status).toBe(200)
  })

  it('is refused the dashboard page with a styled page that says why', async () => {
    const page = await peer.fetch(dash('/'), { headers: { cookie, ...nav } })
    expect(page.status).toBe(403)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(page.body).toContain('share link for the app')
    expect(page.body).toContain('cannot open the latchkey dashboard')
    const other = await peer.fetch(onPort(otherPort, '/'), { headers: { cookie, ...nav } })
    expect(other.status).toBe(403)
    expect(other.body).toContain('it cannot open')
  })
})

describe('a shared session (path mode)', () => {
  it('reaches its app under the prefix and nothing else', async () => {
    const s = await share('wiki')
    const { res, cookie } = await open(s.url)
    expect(res.headers.get('location')).toBe('/apps/wiki/')
    expect((await peer.fetch(dash('/apps/wiki/echo-in-path'), asJson(cookie))).status).toBe(200)
    expect((await peer.fetch(dash('/'), asJson(cookie))).status).toBe(403)
    // A browser is shown the way to the app it may open.
    const page = await peer.fetch(dash('/'), { headers: { cookie, ...nav } })
    expect(page.status).toBe(403)
    expect(page.body).toContain('href="/apps/wiki/"')
    expect((await peer.fetch(dash('/api/apps'), asJson(cookie))).status).toBe(403)
    expect((await peer.fetch(onPort(notesPort, '/echo'), asJson(cookie))).status).toBe(403)
    // A link for one app is no way into another: the secret is checked against the app it opens.
    const wrong = await peer.fetch(onPort(notesPort, `/?latchkey_share=${new URL(s.url).searchParams.get('latchkey_share')}`), { headers: { accept: 'application/json' } })
    expect(wrong.status).toBe(403)
    expect(wrong.json().error).toBe('share_other_app')
  })

  it('can share an app only admins may open, and then that app only', async () => {
    const s = await share('vault')
    const { cookie } = await open(s.url)
    expect((await peer.fetch(dash('/apps/vault/echo-vault-shared'), asJson(cookie))).status).toBe(200)
    expect((await peer.fetch(dash('/apps/wiki/echo'), asJson(cookie))).status).toBe(403)
  })
})

describe('view only', () => {
  it('allows GET and HEAD, and refuses POST and WebSockets with a sentence', async () => {
    const s = await share('notes', { viewOnly: true })
    const { cookie } = await open(s.url)
    expect((await peer.fetch(onPort(notesPort, '/echo-view'), asJson(cookie))).status).toBe(200)
    expect((await peer.fetch(onPort(notesPort, '/echo-view'), { method: 'HEAD', headers: { cookie }, curlArgs: ['--head'] })).status).toBe(200)
    const before = up.received.length
    const postRes = await peer.fetch(onPort(notesPort, '/echo-view-post'), { method: 'POST', headers: { cookie, 'content-type': 'application/json', accept: 'application/json' }, body: '{}' })
    expect(postRes.status).toBe(403)
    expect(postRes.json().error).toBe('share_view_only')
    expect(postRes.json().message).toContain('view only')
    const ws = await peer.fetch(onPort(notesPort, '/ws'), { headers: { cookie, accept: 'application/json', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', origin: onPort(notesPort, '') } })
    expect(ws.status).toBe(403)
    expect(up.received.slice(before)).toEqual([])
  })
})

describe('device limit, listing and the share.opened webhook', () => {
  it('lets N devices in, refuses the next, and lists the share with its opened count', async () => {
    const s = await share('notes', { maxDevices: 2 })
    const before = rx.received.length
    await open(s.url)
    await open(s.url, { 'user-agent': 'SecondPhone/1.0' })
    const third = await peer.fetch(s.url, { headers: { accept: 'application/json' } })
    expect(third.status).toBe(403)
    expect(third.json().error).toBe('share_device_limit')
    const listed = (await local('/api/shares')).json().shares.find((x: { id: string }) => x.id === s.id)
    expect(listed).toMatchObject({ app: 'notes', opened: 2, devices: 2, maxDevices: 2, viewOnly: false, expiresAt: s.expiresAt })
    const devices = (await local('/api/remote/sessions')).json().sessions.filter((d: { issuer: string }) => d.issuer === 'share')
    expect(devices.length).toBeGreaterThanOrEqual(2)

    // Deliveries of earlier tests' shares may still arrive: this share's two are picked out.
    const mine = () => rx.received.slice(before).map((r) => JSON.parse(r.body)).filter((d) => d.share?.id === s.id)
    for (let i = 0; i < 200 && mine().length < 2; i++) await Bun.sleep(25)
    const docs = mine()
    expect(docs.map((d) => d.event)).toEqual(['share.opened', 'share.opened'])
    expect(docs[1].share).toMatchObject({ id: s.id, app: 'notes', opened: 2, maxDevices: 2 })
    expect(docs[1].who).toMatchObject({ role: 'viewer', signedInWith: 'share', device: 'SecondPhone/1.0' })
    for (const r of rx.received) for (const secret of secrets) expect(r.body).not.toContain(secret)
  })
})

describe('revocation', () => {
  it('ends every session of the share before DELETE has answered, and the link stops working', async () => {
    const s = await share('notes')
    const a = await open(s.url)
    const b = await open(s.url)
    for (const { cookie } of [a, b]) expect((await peer.fetch(onPort(notesPort, '/echo'), asJson(cookie))).status).toBe(200)
    const del = await local(`/api/shares/${s.id}`, { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(del.json()).toMatchObject({ revoked: true, signedOut: 2 })
    for (const { cookie } of [a, b]) expect((await peer.fetch(onPort(notesPort, '/echo'), asJson(cookie))).status).toBe(401)
    const reopened = await peer.fetch(s.url, { headers: { accept: 'application/json' } })
    expect(reopened.status).toBe(401)
    expect(reopened.json().error).toBe('share_invalid')
    expect((await local('/api/shares')).json().shares.some((x: { id: string }) => x.id === s.id)).toBe(false)
    expect((await local(`/api/shares/${s.id}`, { method: 'DELETE' })).status).toBe(404)
  })
})

describe('revocation and open WebSockets', () => {
  it('closes a WebSocket the shared session opened, within a second of the revocation', async () => {
    const s = await share('notes')
    const { cookie } = await open(s.url)
    // A remote client (the proxy header ends the loopback exemption), holding the shared session.
    const ws = new WebSocket(`ws://127.0.0.1:${notesPort}/ws`, { headers: { cookie, 'x-forwarded-for': '203.0.113.50' } } as never)
    const got: string[] = []
    ws.onmessage = (e) => got.push(String(e.data))
    await new Promise((resolve, reject) => {
      ws.onopen = resolve
      ws.onerror = () => reject(new Error('the shared session could not open the WebSocket'))
    })
    ws.send('ping')
    for (let i = 0; i < 100 && got.length === 0; i++) await Bun.sleep(10)
    expect(got).toEqual(['echo:ping'])
    const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)))
    expect((await local(`/api/shares/${s.id}`, { method: 'DELETE' })).status).toBe(200)
    const code = await Promise.race([closed, Bun.sleep(1000).then(() => 'still open a second after the revocation')])
    expect(code).toBe(1008)
  })
})

describe('revocation and open streams', () => {
  it('cuts an event stream the shared session is receiving, within a second of the revocation', async () => {
    const s = await share('notes')
    const { cookie } = await open(s.url)
    // 100 events 200 ms apart: 20 s, unless the revocation cuts it.
    const res = await fetch(`http://127.0.0.1:${notesPort}/sse?n=100&gap=200`, { headers: { cookie, 'x-forwarded-for': '203.0.113.51', accept: 'text/event-stream' } })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toContain('data: event 0')
    expect((await local(`/api/shares/${s.id}`, { method: 'DELETE' })).status).toBe(200)
    const revokedAt = performance.now()
    let events = 1
    const outcome = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return 'ended as if complete'
          events += (new TextDecoder().decode(value).match(/^data: /gm) ?? []).length
          if (performance.now() - revokedAt > 1500) return 'still streaming 1.5 s after the revocation'
        }
      } catch {
        return 'cut'
      }
    })()
    expect(outcome).toBe('cut')
    expect(performance.now() - revokedAt).toBeLessThan(1500)
    expect(events).toBeLessThan(100)
  })
})

describe('through a tunnel ingress', () => {
  it('opens a path-mode share on the Cloudflare ingress and keeps the session inside the app', async () => {
    const s = await share('wiki')
    const link = new URL(s.url)
    const ingress = (path: string, headers: Record<string, string> = {}) => curlFrom(null, `http://127.0.0.1:${lk.cloudflareIngressPort}${path}`, { headers: { host: 'shared.trycloudflare.com', 'cf-connecting-ip': '198.51.100.23', 'x-forwarded-proto': 'https', ...headers } })
    const res = await ingress(link.pathname + link.search, nav)
    expect(res.status).toBe(302)
    const cookie = cookieOf(res)
    secrets.add(cookie.split('=')[1])
    expect((await ingress('/apps/wiki/echo-through-tunnel', { cookie, accept: 'application/json' })).status).toBe(200)
    expect((await ingress('/api/remote/status', { cookie, accept: 'application/json' })).status).toBe(403)
    expect((await ingress('/', { cookie, ...nav })).status).toBe(403)
    // Without the cookie the tunnel is anonymous, as ever.
    expect((await ingress('/apps/wiki/echo', { accept: 'application/json' })).status).toBe(401)
  })
})

describe('across a restart', () => {
  it('keeps live shares and their sessions, stored without any secret', async () => {
    const s = await share('notes')
    const { cookie } = await open(s.url)
    const firstRun = lk.output()
    expect(await lk.stop()).toBe(0)
    for (const secret of secrets) expect(firstRun).not.toContain(secret)
    const stored = readFileSync(join(dataDir, 'shares.json'), 'utf8') + readFileSync(join(dataDir, 'sessions.json'), 'utf8')
    for (const secret of secrets) expect(stored).not.toContain(secret)
    lk = await startLatchkey({ args: ['--host', '0.0.0.0'], dataDir, yaml: yaml() })
    notesPort = await appPort(lk, 'notes')
    expect((await peer.fetch(onPort(notesPort, '/echo-after-restart'), asJson(cookie))).status).toBe(200)
    expect((await peer.fetch(dash('/api/apps'), asJson(cookie))).status).toBe(403)
    expect((await local('/api/shares')).json().shares.find((x: { id: string }) => x.id === s.id)).toMatchObject({ opened: 1, devices: 1 })
    // Nothing secret reached the log either.
    for (const secret of secrets) expect(lk.output()).not.toContain(secret)
  })
})
