/**
 * Webhooks end to end: latchkey (a child process) delivers to a real receiver on 127.0.0.1.
 * A device signing in from a namespace peer, signing out, and being refused an admin action
 * each arrive as a signed JSON document (verified here with the secret); "Send a test event"
 * is admin-only and viewers never see a webhook URL; a 500 is retried; a stuck receiver
 * neither blocks requests nor grows the queue past its bound; no secret reaches a payload or
 * the log. Tunnel events come from a quick tunnel run by the fake cloudflared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHmac } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, type Peer, type PeerRequest } from '../../helpers/netns.ts'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { quickSettings, startHarness, type Harness } from '../tunnels/helpers.ts'
import { startReceiver, type Receiver, type Received } from './receiver.ts'

const SECRET = 'whsec-integration-4f9a1c7e2b'
let rx: Receiver
let peer: Peer
let lk: Latchkey
let base: string
const secrets = new Set<string>([SECRET])

const json = (body: unknown, headers: Record<string, string> = {}): PeerRequest => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
const local = (path: string, init?: RequestInit) => fetch(lk.url(path), init)
const postLocal = (path: string, body: unknown = {}) => local(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

function verify(r: Received): any {
  expect(r.headers['x-latchkey-signature']).toBe('sha256=' + createHmac('sha256', SECRET).update(r.body).digest('hex'))
  const doc = JSON.parse(r.body)
  expect(r.headers['x-latchkey-timestamp']).toBe(String(Math.floor(Date.parse(doc.time) / 1000)))
  for (const s of [...secrets, lk.token!]) expect(r.body).not.toContain(s)
  return doc
}

/** The next delivery of `event` (waiting for it). */
async function next(event: string, after = 0): Promise<any> {
  const end = Date.now() + 10_000
  while (Date.now() < end) {
    const hit = rx.received.slice(after).find((r) => JSON.parse(r.body).event === event)
    if (hit) return verify(hit)
    await Bun.sleep(20)
  }
  throw new Error(`no ${event} delivery; got ${rx.received.map((r) => JSON.parse(r.body).event).join(',')}`)
}

async function signInViewer(): Promise<{ cookie: string; sessionId: string }> {
  const gen = await (await postLocal('/api/remote/token/short-lived/generate', { role: 'viewer' })).json()
  secrets.add(gen.token)
  const before = rx.received.length
  const res = await peer.fetch(gen.url, { headers: { 'user-agent': 'PhoneBrowser/2.0' } })
  expect(res.status).toBe(302)
  const cookie = /latchkey_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0]
  secrets.add(cookie.split('=')[1])
  const doc = await next('device.signed_in', before)
  return { cookie, sessionId: doc.who.session }
}

beforeAll(async () => {
  rx = await startReceiver()
  peer = createPeer()
  const dir = tempDir('lk-whsec-')
  writeFileSync(join(dir, 'hook-secret'), SECRET + '\n', { mode: 0o600 })
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress],
    env: { LATCHKEY_WEBHOOK_RETRY_MS: '20' },
    yaml: `webhooks:\n  - url: ${rx.url}\n    secretFile: ${join(dir, 'hook-secret')}\n`,
  })
  base = `http://${peer.hostAddress}:${lk.dashboardPort}`
})
afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await rx?.close()
})

describe('events', () => {
  it('device.signed_in, admin.denied and session.revoked arrive signed, naming the session and never a secret', async () => {
    const start = rx.received.length
    const { cookie, sessionId } = await signInViewer()
    const signedIn = verify(rx.received.slice(start).find((r) => JSON.parse(r.body).event === 'device.signed_in')!)
    expect(signedIn).toMatchObject({ event: 'device.signed_in', who: { session: sessionId, role: 'viewer', device: 'PhoneBrowser/2.0', signedInWith: 'short-lived' } })
    expect(Math.abs(Date.parse(signedIn.time) - Date.now())).toBeLessThan(10_000)

    const refused = await peer.fetch(`${base}/api/webhooks/test`, json({}, { cookie }))
    expect(refused.status).toBe(403)
    const denied = await next('admin.denied', start)
    expect(denied).toMatchObject({ who: { via: 'session', role: 'viewer', address: peer.peerAddress, session: sessionId }, request: { method: 'POST', path: '/api/webhooks/test' } })

    const out = await peer.fetch(`${base}/api/session/logout`, json({}, { cookie }))
    expect(out.status).toBe(200)
    const revoked = await next('session.revoked', start)
    expect(revoked).toMatchObject({ who: { session: sessionId, role: 'viewer' } })
  })
})

describe('/api/webhooks', () => {
  it('is admin-only: a viewer gets 403 and never the URL; anonymous remote callers get 401', async () => {
    const { cookie } = await signInViewer()
    const list = await peer.fetch(`${base}/api/webhooks`, { headers: { cookie } })
    expect(list.status).toBe(403)
    expect(list.body).not.toContain(rx.url)
    expect(list.body).not.toContain('127.0.0.1')
    const test = await peer.fetch(`${base}/api/webhooks/test`, json({}, { cookie }))
    expect(test.status, test.body).toBe(403)
    expect((await peer.fetch(`${base}/api/webhooks`)).status).toBe(401)
    expect((await peer.fetch(`${base}/api/webhooks/test`, json({}))).status).toBe(401)
  })

  it('sends a test event for an admin and shows the last delivery, with no secret', async () => {
    const before = rx.received.length
    const res = await postLocal('/api/webhooks/test')
    expect(res.status).toBe(202)
    const sent = await res.json()
    expect(sent).toMatchObject({ queued: true, webhooks: [0] })
    const doc = await next('webhook.test', before)
    expect(doc).toMatchObject({ id: sent.id, who: { via: 'loopback', role: 'admin' } })
    await Bun.sleep(50)
    const list = await local('/api/webhooks')
    expect(list.status).toBe(200)
    expect(list.headers.get('cache-control')).toBe('no-store')
    const text = await list.text()
    expect(text).not.toContain(SECRET)
    const [hook] = JSON.parse(text).webhooks
    expect(hook).toMatchObject({ id: 0, url: rx.url, signed: true, lastDelivery: { id: sent.id, event: 'webhook.test', ok: true, status: 200, error: null, attempts: 1 } })
  })

  it('answers 400 naming the field for a bad body, and 404 for an unknown webhook', async () => {
    const bad = await postLocal('/api/webhooks/test', { webhook: 'first' })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ field: 'webhook' })
    const missing = await postLocal('/api/webhooks/test', { webhook: 7 })
    expect(missing.status).toBe(404)
  })

  it('retries a delivery answered with 500, and records the attempts', async () => {
    const before = rx.received.length
    rx.script([500])
    const sent = await (await postLocal('/api/webhooks/test')).json()
    await rx.waitFor(before + 2)
    const [first, second] = rx.received.slice(before)
    expect(second.body).toBe(first.body)
    verify(second)
    await Bun.sleep(50)
    const [hook] = (await (await local('/api/webhooks')).json()).webhooks
    expect(hook.lastDelivery).toMatchObject({ id: sent.id, ok: true, status: 200, attempts: 2 })
  })

  it('keeps requests fast while the receiver is stuck, and bounds the queue (oldest dropped, counted)', async () => {
    rx.hold()
    const before = rx.received.length
    const ids: string[] = []
    const started = performance.now()
    for (let i = 0; i < 110; i++) {
      const res = await postLocal('/api/webhooks/test')
      expect(res.status).toBe(202)
      ids.push((await res.json()).id)
    }
    expect(performance.now() - started).toBeLessThan(5000)
    await rx.waitFor(before + 1)
    const [stuck] = (await (await local('/api/webhooks')).json()).webhooks
    // One in flight, 100 waiting, 9 dropped.
    expect(stuck).toMatchObject({ inFlight: true, queued: 100, dropped: 9 })
    expect(lk.output()).toMatch(/WARN\s+webhook queue full: dropping the oldest events webhook=0/)
    rx.release()
    await rx.waitFor(before + 101)
    const got = rx.received.slice(before).map((r) => JSON.parse(r.body).id)
    expect(got).toEqual([ids[0], ...ids.slice(10)])
  })

  it('never writes a secret to the log', () => {
    for (const s of secrets) expect(lk.output()).not.toContain(s)
  })
})

describe('tunnel events', () => {
  let h: Harness | null = null
  let dataDir = ''
  afterAll(async () => {
    await h?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('tunnel.started with the public URL, then tunnel.failed with the code when it crashes', async () => {
    dataDir = tempDir('lk-whtun-')
    writeFileSync(join(dataDir, 'latchkey.yaml'), `webhooks:\n  - url: ${rx.url}\n    events: [tunnel.started, tunnel.failed]\n`)
    h = await startHarness({ dataDir, settings: quickSettings(), env: { FAKE_CLOUDFLARED_MODE: 'crash-after', FAKE_CLOUDFLARED_CRASH_AFTER_MS: '600' } })
    const before = rx.received.length
    expect((await h.api('POST', '/remote/tunnel/start')).status).toBe(202)
    const running = await h.waitState('running')
    const started = await waitEvent('tunnel.started', before)
    expect(started).toMatchObject({ who: null, tunnel: { provider: 'cloudflare', kind: 'cloudflare-quick', url: running.url } })
    expect(rx.received.at(-1)!.headers['x-latchkey-signature']).toBeUndefined()
    const failed = await waitEvent('tunnel.failed', before)
    expect(failed).toMatchObject({ tunnel: { provider: 'cloudflare', code: 'tunnel_exited' } })
  })
})

async function waitEvent(event: string, after: number): Promise<any> {
  const end = Date.now() + 10_000
  while (Date.now() < end) {
    const hit = rx.received.slice(after).find((r) => JSON.parse(r.body).event === event)
    if (hit) return JSON.parse(hit.body)
    await Bun.sleep(20)
  }
  throw new Error(`no ${event}`)
}
