/**
 * The webhook service against a real receiver on 127.0.0.1: the document and its signature,
 * retries with (injected) backoff, which answers are final, the queue bound (oldest dropped
 * and counted), that emit never waits, and that secrets stay out of payloads and logs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { createHmac } from 'node:crypto'
import { createLogger } from '../../../src/log.ts'
import { WebhookService } from '../../../src/webhooks/webhook-service.ts'
import { WEBHOOK_EVENTS, type WebhookSpec } from '../../../src/webhooks/webhook-config.ts'
import { startReceiver, type Receiver } from '../../integration/webhooks/receiver.ts'

const SECRET = 'whsec-unit-0123456789abcdef'
let rx: Receiver
let lines: string[]
let sleeps: number[]
let service: WebhookService | null

const spec = (over: Partial<WebhookSpec> = {}): WebhookSpec => ({ url: rx.url, events: [...WEBHOOK_EVENTS], ...over })

function make(entries: { spec: WebhookSpec; secret: string | null }[], o: { maxQueue?: number; maxAttempts?: number; timeoutMs?: number } = {}) {
  const log = createLogger({ level: 'debug', write: (l) => lines.push(l) })
  service = new WebhookService(entries, {
    log,
    version: '9.9.9',
    retryBaseMs: 50,
    // Backoff is recorded, not waited for.
    sleep: async (ms) => void sleeps.push(ms),
    ...o,
  })
  return service
}

beforeEach(async () => {
  rx = await startReceiver()
  lines = []
  sleeps = []
  service = null
})
afterEach(async () => {
  service?.stop()
  await rx.close()
})

describe('a delivery', () => {
  it('posts the JSON document with a verifiable signature and timestamp when a secret is set', async () => {
    const s = make([{ spec: spec(), secret: SECRET }])
    s.emit('device.signed_in', { session: 'abc', role: 'viewer' }, { expiresAt: '2030-01-01T00:00:00.000Z' })
    const [got] = await rx.waitFor(1)
    await s.idle()
    expect(got.method).toBe('POST')
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['user-agent']).toBe('latchkey/9.9.9')
    expect(got.headers['x-latchkey-event']).toBe('device.signed_in')
    const doc = JSON.parse(got.body)
    expect(doc).toMatchObject({ event: 'device.signed_in', who: { session: 'abc', role: 'viewer' }, expiresAt: '2030-01-01T00:00:00.000Z' })
    expect(doc.id).toBe(got.headers['x-latchkey-delivery'])
    expect(Math.abs(Date.parse(doc.time) - Date.now())).toBeLessThan(5000)
    expect(got.headers['x-latchkey-timestamp']).toBe(String(Math.floor(Date.parse(doc.time) / 1000)))
    const expected = 'sha256=' + createHmac('sha256', SECRET).update(got.body).digest('hex')
    expect(got.headers['x-latchkey-signature']).toBe(expected)
    // A signature made with another secret does not match.
    expect(got.headers['x-latchkey-signature']).not.toBe('sha256=' + createHmac('sha256', 'other').update(got.body).digest('hex'))
    expect(got.body).not.toContain(SECRET)
    expect(s.list()[0]).toMatchObject({ delivered: 1, failed: 0, lastDelivery: { ok: true, status: 200, error: null, attempts: 1, event: 'device.signed_in' } })
  })

  it('sends no signature header without a secret', async () => {
    const s = make([{ spec: spec(), secret: null }])
    s.emit('tunnel.started', null, { tunnel: { provider: 'cloudflare' } })
    const [got] = await rx.waitFor(1)
    expect(got.headers['x-latchkey-signature']).toBeUndefined()
    expect(JSON.parse(got.body).who).toBeNull()
  })

  it('goes only to webhooks that asked for the event (the test event goes to all)', async () => {
    const s = make([{ spec: spec({ events: ['tunnel.failed'] }), secret: null }])
    s.emit('admin.denied', { via: 'session' })
    s.emit('tunnel.failed', null)
    s.sendTest({ via: 'loopback' })
    await rx.waitFor(2)
    await s.idle()
    expect(rx.received.map((r) => JSON.parse(r.body).event)).toEqual(['tunnel.failed', 'webhook.test'])
  })
})

describe('retries', () => {
  it('retries after a 500 with growing backoff, then records the success', async () => {
    rx.script([500, 503])
    const s = make([{ spec: spec(), secret: SECRET }])
    s.emit('session.revoked', { session: 'x' })
    await rx.waitFor(3)
    await s.idle()
    expect(sleeps).toEqual([50, 100])
    // The same document, re-signed identically, each time.
    expect(new Set(rx.received.map((r) => r.body)).size).toBe(1)
    expect(s.list()[0].lastDelivery).toMatchObject({ ok: true, status: 200, attempts: 3 })
  })

  it('gives up after maxAttempts, records the error and logs it without the URL query or the secret', async () => {
    rx.script([500, 500, 500])
    const s = make([{ spec: spec({ url: rx.url + '?topic=private-topic' }), secret: SECRET }], { maxAttempts: 3 })
    s.emit('tunnel.failed', null)
    await rx.waitFor(3)
    await s.idle()
    expect(s.list()[0]).toMatchObject({ delivered: 0, failed: 1, lastDelivery: { ok: false, status: 500, error: 'HTTP 500', attempts: 3 } })
    const warn = lines.find((l) => l.includes('webhook delivery failed'))
    expect(warn).toBeDefined()
    expect(lines.join('\n')).not.toContain('private-topic')
    expect(lines.join('\n')).not.toContain(SECRET)
    expect(s.list()[0].url).toBe(rx.url + '?…')
  })

  it('does not retry a 400 or a redirect', async () => {
    rx.script([400, 302])
    const s = make([{ spec: spec(), secret: null }])
    s.emit('tunnel.failed', null)
    s.emit('tunnel.failed', null)
    await rx.waitFor(2)
    await s.idle()
    expect(rx.received.length).toBe(2)
    expect(sleeps).toEqual([])
    expect(s.list()[0]).toMatchObject({ failed: 2, lastDelivery: { ok: false, status: 302, attempts: 1 } })
    expect(s.list()[0].lastDelivery!.error).toContain('redirects are not followed')
  })

  it('retries when nothing listens, and says so without the address', async () => {
    const dead = 'http://127.0.0.1:9/unreachable-path'
    const s = make([{ spec: spec({ url: dead }), secret: null }], { maxAttempts: 2 })
    s.emit('tunnel.failed', null)
    await s.idle()
    expect(sleeps).toEqual([50])
    const last = s.list()[0].lastDelivery!
    expect(last).toMatchObject({ ok: false, status: null, attempts: 2 })
    expect(last.error).toStartWith('cannot connect')
    expect(last.error).not.toContain('unreachable-path')
  })

  it('times out a receiver that never answers, and retries', async () => {
    rx.hold()
    const s = make([{ spec: spec(), secret: null }], { maxAttempts: 2, timeoutMs: 200 })
    s.emit('tunnel.failed', null)
    await s.idle()
    expect(rx.received.length).toBe(2)
    expect(s.list()[0].lastDelivery).toMatchObject({ ok: false, status: null, error: 'no answer within 200 ms', attempts: 2 })
  })
})

describe('the queue', () => {
  it('never waits, keeps at most maxQueue waiting events, drops the oldest and counts them', async () => {
    rx.hold()
    const s = make([{ spec: spec(), secret: null }], { maxQueue: 5 })
    const ids: string[] = []
    const started = performance.now()
    for (let i = 0; i < 20; i++) ids.push(s.sendTest({ n: i }).id)
    expect(performance.now() - started).toBeLessThan(200)
    await rx.waitFor(1)
    // One in flight (the first), five waiting, fourteen dropped.
    expect(s.list()[0]).toMatchObject({ inFlight: true, queued: 5, dropped: 14 })
    expect(lines.filter((l) => l.includes('webhook queue full')).length).toBe(1)
    rx.release()
    await rx.waitFor(6)
    await s.idle()
    expect(rx.received.map((r) => JSON.parse(r.body).id)).toEqual([ids[0], ...ids.slice(15)])
    expect(s.list()[0]).toMatchObject({ queued: 0, inFlight: false, delivered: 6, dropped: 14 })
  })

  it('stops: nothing more is sent', async () => {
    rx.hold()
    const s = make([{ spec: spec(), secret: null }])
    s.sendTest(null)
    s.sendTest(null)
    await rx.waitFor(1)
    s.stop()
    rx.release()
    s.sendTest(null)
    await Bun.sleep(100)
    expect(rx.received.length).toBe(1)
  })
})

describe('reconfigure (a config reload)', () => {
  it('keeps the queue and history of an unchanged webhook, adds new ones and stops removed ones', async () => {
    const kept = spec({ events: ['tunnel.failed'] })
    const s = make([{ spec: kept, secret: SECRET }, { spec: spec({ url: `${rx.url}?gone=1` }), secret: null }])
    s.emit('tunnel.failed', null)
    await s.idle()
    expect(s.list()[0].delivered).toBe(1)
    const changed = s.reconfigure([{ spec: spec({ url: `${rx.url}?new=1`, events: ['tunnel.failed'] }), secret: null }, { spec: kept, secret: SECRET }], 50)
    expect(changed).toBe(true)
    const list = s.list()
    expect(list.map((w) => [w.id, w.url, w.delivered])).toEqual([[0, `${rx.url}?…`, 0], [1, rx.url, 1]])
    const before = rx.received.length
    s.emit('tunnel.failed', null)
    await s.idle()
    expect(rx.received.slice(before).map((r) => r.path).sort()).toEqual(['/hook', '/hook?new=1'])
  })

  it('counts a changed secret as a change and reports no change for the same list', () => {
    const s = make([{ spec: spec(), secret: SECRET }])
    expect(s.reconfigure([{ spec: spec(), secret: SECRET }], 50)).toBe(false)
    expect(s.reconfigure([{ spec: spec(), secret: 'whsec-rotated-0123456789' }], 50)).toBe(true)
    expect(s.list()[0].signed).toBe(true)
  })
})
