/**
 * Running apps: an app that is down answers 502 within a bound, pause/resume, apps added,
 * edited and removed from the API without a restart, path-mode redirects and cookies,
 * the admin access log (kept across a restart), health, and loopback detection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, type Peer } from '../../helpers/netns.ts'
import { startUpstream, type Upstream } from './upstream.ts'
import { appPort } from './peer-tools.ts'

let up: Upstream
let peer: Peer
let lk: Latchkey
let dataDir: string
let closedPort: number

const json = { 'content-type': 'application/json' }
const post = (path: string, body: unknown = {}, method = 'POST') => fetch(lk.url(path), { method, headers: json, body: JSON.stringify(body) })

beforeAll(async () => {
  up = startUpstream()
  peer = createPeer()
  // A port with nothing listening: bind, note it, close.
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  closedPort = probe.port!
  probe.stop(true)
  dataDir = tempDir()
  lk = await startLatchkey({
    dataDir,
    args: ['--host', '0.0.0.0'],
    env: { LATCHKEY_APP_TIMEOUT_MS: '1500' },
    yaml: [
      'apps:',
      `  - { name: web, target: "${up.url}", port: 0 }`,
      `  - { name: gone, target: "http://127.0.0.1:${closedPort}", port: 0 }`,
      `  - { name: grafana, target: "${up.url}", path: /apps/grafana }`,
      `  - { name: secret, target: "${up.url}", role: admin }`,
      '',
    ].join('\n'),
  })
})

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await up?.stop()
})

describe('app proxy failures', () => {
  it('answers 502 with a clear page at once when nothing listens at the app address', async () => {
    const port = await appPort(lk, 'gone')
    const t0 = performance.now()
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect(res.status).toBe(502)
    expect(await res.text()).toContain('could not reach &quot;gone&quot;')
    expect(performance.now() - t0).toBeLessThan(1000)
  })

  it('answers 502 within the bound when the app accepts but never answers', async () => {
    const port = await appPort(lk, 'web')
    const t0 = performance.now()
    const res = await fetch(`http://127.0.0.1:${port}/hang`)
    expect(res.status).toBe(502)
    expect((await res.json()).error).toBe('app_unreachable')
    const took = performance.now() - t0
    expect(took).toBeGreaterThan(1300)
    expect(took).toBeLessThan(3500)
  })

  it('ends the exchange with the app soon after the client goes away, well before the bound', async () => {
    const port = await appPort(lk, 'web')
    const gone = new AbortController()
    const pending = fetch(`http://127.0.0.1:${port}/hang?client=leaves`, { signal: gone.signal }).catch(() => null)
    await Bun.sleep(200)
    gone.abort()
    await pending
    const t0 = performance.now()
    while (!up.abandoned.includes('/hang?client=leaves') && performance.now() - t0 < 3000) await Bun.sleep(20)
    expect(up.abandoned).toContain('/hang?client=leaves')
    // The bound is 1.5 s; a client that leaves ends the exchange within a sweep (0.1 s).
    expect(performance.now() - t0).toBeLessThan(800)
  })

  it('reports the health of each app, checked in the background', async () => {
    const { apps } = await (await fetch(lk.url('/api/apps'))).json()
    const health = Object.fromEntries(apps.map((a: any) => [a.name, a.health.state]))
    expect(health.web).toBe('up')
    expect(health.gone).toBe('down')
  })
})

describe('app pause and resume', () => {
  it('answers 503 while paused without reaching the app, and proxies again once resumed', async () => {
    const port = await appPort(lk, 'web')
    const remote = `http://${peer.hostAddress}:${port}/paused-probe`
    const auth = { authorization: `Bearer ${lk.token}` }
    // A remote caller without admin rights cannot pause.
    expect((await peer.fetch(`${lk.url('/api/apps/web/pause').replace('127.0.0.1', peer.hostAddress)}`, { method: 'POST', headers: json, body: '{}' })).status).toBe(401)
    expect((await post('/api/apps/web/pause')).status).toBe(200)
    const before = up.received.length
    const paused = await peer.fetch(remote, { headers: auth })
    expect(paused.status).toBe(503)
    expect(paused.headers.get('retry-after')).toBe('30')
    expect(up.received.length).toBe(before)
    expect((await post('/api/apps/web/resume')).status).toBe(200)
    expect((await peer.fetch(remote, { headers: auth })).status).toBe(200)
    expect(up.received.at(-1)!.path).toBe('/paused-probe')
  })

  it('restarts an app listener on the same port', async () => {
    const port = await appPort(lk, 'web')
    const res = await post('/api/apps/web/restart')
    expect(res.status).toBe(200)
    expect((await res.json()).listener).toEqual({ port, listening: true, error: null })
    expect((await fetch(`http://127.0.0.1:${port}/after-restart`)).status).toBe(200)
  })
})

describe('path-mode apps', () => {
  it('keeps redirects and cookies under the app path and drops a cookie shadowing the session', async () => {
    const res = await fetch(lk.url('/apps/grafana/redirect'), { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/apps/grafana/landed?x=1')
    expect(res.headers.getSetCookie()).toEqual(['app_sid=abc; HttpOnly; Path=/apps/grafana'])
  })

  it('needs the role the app asks for', async () => {
    const res = await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/apps/secret/x`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(401)
    expect(res.body).toContain('Access token')
  })
})

describe('/api/apps', () => {
  it('adds, edits and removes a dashboard app without a restart', async () => {
    const bad = await post('/api/apps', { name: 'Bad Name', target: 'http://127.0.0.1:1' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).field).toBe('name')
    expect((await post('/api/apps', { name: 'web', target: up.url })).status).toBe(409)
    const added = await post('/api/apps', { name: 'notes', target: up.url })
    expect(added.status).toBe(201)
    expect((await fetch(lk.url('/apps/notes/hello'))).status).toBe(200)
    expect(up.received.at(-1)!.path).toBe('/apps/notes/hello')
    const edited = await post('/api/apps/notes', { target: up.url, path: '/apps/jot' }, 'PUT')
    expect(edited.status).toBe(200)
    expect((await fetch(lk.url('/apps/jot/x'))).status).toBe(200)
    expect((await fetch(lk.url('/apps/notes/x'))).status).toBe(404)
    expect((await fetch(lk.url('/api/apps/notes'), { method: 'DELETE' })).status).toBe(200)
    expect((await fetch(lk.url('/apps/jot/x'))).status).toBe(404)
    expect((await fetch(lk.url('/api/apps/web'), { method: 'DELETE' })).status).toBe(409)
  })

  it('opens a listener for a dashboard app with its own port at once', async () => {
    const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
    const port = probe.port!
    probe.stop(true)
    expect((await post('/api/apps', { name: 'porty', target: up.url, port })).status).toBe(201)
    expect((await fetch(`http://127.0.0.1:${port}/porty-probe`)).status).toBe(200)
    expect(up.received.at(-1)!.path).toBe('/porty-probe')
  })

  it('logs the bytes sent: as declared, counted for a chunked body, none for HEAD', async () => {
    const port = await appPort(lk, 'web')
    const chunked = await fetch(`http://127.0.0.1:${port}/download?mb=3`)
    expect(chunked.headers.get('content-length')).toBeNull()
    expect((await chunked.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024)
    const declared = await fetch(`http://127.0.0.1:${port}/declared`)
    const body = await declared.text()
    expect(declared.headers.get('content-length')).toBe(String(body.length))
    // The app's own head goes out edited in place: latchkey's headers are on it, hop-by-hop ones are not.
    expect(declared.headers.get('x-content-type-options')).toBe('nosniff')
    expect((await fetch(`http://127.0.0.1:${port}/head-only`, { method: 'HEAD' })).status).toBe(200)
    // A client that leaves mid-body: what was sent is logged, once.
    const partial = await fetch(`http://127.0.0.1:${port}/download?mb=50&partial`)
    const reader = partial.body!.getReader()
    await reader.read()
    await reader.cancel()
    await Bun.sleep(300)
    const { entries } = await (await fetch(lk.url('/api/apps/web/access-log?limit=50'))).json()
    const find = (path: string) => entries.filter((e: any) => e.path === path)
    expect(find('/download').find((e: any) => e.bytes === 3 * 1024 * 1024)).toBeDefined()
    expect(find('/declared')).toMatchObject([{ status: 200, bytes: body.length }])
    expect(find('/head-only')).toMatchObject([{ method: 'HEAD', status: 200, bytes: 0 }])
    const cut = find('/download').filter((e: any) => e.bytes !== 3 * 1024 * 1024)
    expect(cut.length).toBe(1)
    expect(cut[0].bytes).toBeGreaterThan(0)
    expect(cut[0].bytes).toBeLessThan(50 * 1024 * 1024)
  })

  it('shows the access log to admins only, and keeps it across a restart', async () => {
    const port = await appPort(lk, 'web')
    await fetch(`http://127.0.0.1:${port}/logged-path?token=should-not-be-logged`)
    const remote = await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/apps/web/access-log`)
    expect(remote.status).toBe(401)
    await lk.stop()
    lk = await startLatchkey({ dataDir, args: ['--host', '0.0.0.0'] })
    const res = await fetch(lk.url('/api/apps/web/access-log?limit=50'))
    expect(res.status).toBe(200)
    const { entries } = await res.json()
    const entry = entries.find((e: any) => e.path === '/logged-path')
    expect(entry).toMatchObject({ identity: 'local', method: 'GET', status: 200 })
    expect(typeof entry.bytes).toBe('number')
    expect(JSON.stringify(entries)).not.toContain('should-not-be-logged')
  })

  it('detects loopback listeners with their page titles', async () => {
    const page = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<title>Detect me</title>', { headers: { 'content-type': 'text/html' } }) })
    try {
      const { ports } = await (await fetch(lk.url('/api/apps/detected'))).json()
      expect(ports.find((p: any) => p.port === page.port)).toMatchObject({ title: 'Detect me', http: true, app: null })
      expect(ports.find((p: any) => p.port === up.port)).toMatchObject({ app: 'porty' })
      expect(ports.some((p: any) => p.port === lk.dashboardPort)).toBe(false)
    } finally {
      page.stop(true)
    }
  })
})
