/**
 * GET /metrics end to end: latchkey (a child process) with an app in front of a real upstream
 * and two webhook receivers (one answering 400), called from a network-namespace peer.
 * Who may read it (anonymous 401, viewer 403, API key, access token and the local user 200,
 * tunnel ingress never loopback), that the strict reader in test/helpers accepts every scrape,
 * that each family moves when the thing it counts happens, and that no secret appears in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createPeer, type Peer, type PeerRequest } from '../../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { parseExposition, sampleValue, type PromFamily } from '../../helpers/prometheus-text.ts'
import { startUpstream, type Upstream } from '../apps/upstream.ts'
import { appPort } from '../apps/peer-tools.ts'
import { startReceiver, type Receiver } from '../webhooks/receiver.ts'
import { quickSettings, startHarness, type Harness } from '../tunnels/helpers.ts'

const TOKEN = 'metrics-access-token-5b0e2c9d41f7a8'
const API_KEY = 'metrics-api-key-c3d9e07f16a2b4'
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
let up: Upstream
let ok: Receiver
let failing: Receiver
let peer: Peer
let lk: Latchkey
let appListener: number
const secrets = new Set<string>([TOKEN, API_KEY])

type Families = Map<string, PromFamily>

/** One scrape as the local user, read by the strict reader (which throws on any format error). */
async function scrape(): Promise<Families> {
  const res = await fetch(lk.url('/metrics', 'api'))
  expect(res.status).toBe(200)
  return parseExposition(await res.text())
}

const v = (f: Families, name: string, labels: Record<string, string> = {}) => sampleValue(f, name, labels)
const bearer = (secret: string): PeerRequest => ({ headers: { authorization: `Bearer ${secret}` } })
const dashboard = (path: string) => `http://${peer.hostAddress}:${lk.dashboardPort}${path}`

/** A viewer session from the peer, through a short-lived login link (as a phone would). */
async function viewerCookie(): Promise<string> {
  const res = await fetch(lk.url('/api/remote/token/short-lived/generate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'viewer' }) })
  const gen = await res.json()
  secrets.add(gen.token)
  const visit = await peer.fetch(gen.url)
  expect(visit.status).toBe(302)
  const cookie = /latchkey_session=[^;]+/.exec(visit.headers.get('set-cookie') ?? '')![0]
  secrets.add(cookie.split('=')[1])
  return cookie
}

beforeAll(async () => {
  up = startUpstream()
  ok = await startReceiver()
  failing = await startReceiver()
  failing.script(new Array(100).fill(400))
  peer = createPeer()
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress],
    env: { LATCHKEY_AUTH_TOKEN: TOKEN, LATCHKEY_WEBHOOK_RETRY_MS: '20' },
    yaml: [
      `apiKey: "${API_KEY}"`,
      'apps:',
      `  - { name: notebook, target: "${up.url}", port: 0 }`,
      'webhooks:',
      // Only test events reach them (sent whatever the list says), so the counts below are exact.
      `  - { url: "${ok.url}", events: [tunnel.failed] }`,
      `  - { url: "${failing.url}", events: [tunnel.failed] }`,
      '',
    ].join('\n'),
  })
  appListener = await appPort(lk, 'notebook')
})

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await up?.stop()
  await ok?.close()
  await failing?.close()
})

describe('GET /metrics access', () => {
  type Row = { name: string; send: () => Promise<{ status: number; headers: Headers; body: string }>; status: number; via: string }
  const local = async (listener: 'dashboard' | 'api') => {
    const res = await fetch(lk.url('/metrics', listener))
    return { status: res.status, headers: res.headers, body: await res.text() }
  }
  const rows: Row[] = [
    { name: 'an anonymous peer on the dashboard port', send: () => peer.fetch(dashboard('/metrics')), status: 401, via: 'anonymous' },
    { name: 'an anonymous peer on the API port', send: () => peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/metrics`), status: 401, via: 'anonymous' },
    { name: 'anonymous through the Cloudflare tunnel ingress (never the local user)', send: () => peerless(lk.cloudflareIngressPort), status: 401, via: 'anonymous' },
    { name: 'a viewer session', send: async () => peer.fetch(dashboard('/metrics'), { headers: { cookie: await viewerCookie() } }), status: 403, via: 'session' },
    { name: 'the API key from the peer', send: () => peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/metrics`, bearer(API_KEY)), status: 200, via: 'api-key' },
    { name: 'the API key through the tunnel ingress', send: () => peerless(lk.cloudflareIngressPort, API_KEY), status: 200, via: 'api-key' },
    { name: 'the access token from the peer', send: () => peer.fetch(dashboard('/metrics'), bearer(TOKEN)), status: 200, via: 'access-token' },
    { name: 'the local user on the dashboard port', send: () => local('dashboard'), status: 200, via: 'loopback' },
    { name: 'the local user on the API port', send: () => local('api'), status: 200, via: 'loopback' },
  ]
  for (const row of rows) {
    it(`answers ${row.status} to ${row.name}, and counts the decision`, async () => {
      const outcome = row.status === 200 ? 'admitted' : String(row.status)
      const before = v(await scrape(), 'latchkey_guard_decisions_total', { via: row.via, outcome })
      const res = await row.send()
      expect(res.status).toBe(row.status)
      // The scrape ran only when admitted: the refusal carries none of it.
      expect(res.body.includes('latchkey_build_info')).toBe(row.status === 200)
      if (row.status === 200) {
        expect(res.headers.get('content-type')).toBe(CONTENT_TYPE)
        parseExposition(res.body)
      }
      // The scrape of `before` by the local user counts itself once when `row` is local too.
      const self = row.via === 'loopback' ? 1 : 0
      expect(v(await scrape(), 'latchkey_guard_decisions_total', { via: row.via, outcome })).toBe(before + 1 + self)
    })
  }
})

/** A request to a tunnel ingress listener on 127.0.0.1, as the tunnel's child delivers it. */
async function peerless(port: number, key?: string) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

describe('what the families count', () => {
  it('names every family latchkey_ (or process_), with HELP and TYPE, _total on counters and _seconds on the histogram', async () => {
    const f = await scrape()
    for (const fam of f.values()) {
      expect(fam.name).toMatch(/^(latchkey_|process_)/)
      expect(fam.help).toBeTruthy()
      if (fam.type === 'counter') expect(fam.name).toEndWith('_total')
      if (fam.type === 'histogram') expect(fam.name).toEndWith('_seconds')
    }
    expect(v(f, 'latchkey_build_info', { version: '0.1.0' })).toBe(1)
    const started = v(f, 'process_start_time_seconds')
    expect(Date.now() / 1000 - started).toBeGreaterThan(0)
    expect(Date.now() / 1000 - started).toBeLessThan(300)
  })

  it('a request through the app moves its requests, bytes and latency histogram, and the listener\'s requests', async () => {
    const before = await scrape()
    const res = await peer.fetch(`http://${peer.hostAddress}:${appListener}/download?mb=1`, bearer(TOKEN))
    expect(res.status).toBe(200)
    const after = await scrape()
    expect(v(after, 'latchkey_app_requests_total', { app: 'notebook', code: '200' })).toBe(v(before, 'latchkey_app_requests_total', { app: 'notebook', code: '200' }) + 1)
    // A streamed body of unknown length: counted when it ends, exactly.
    expect(v(after, 'latchkey_app_response_bytes_total', { app: 'notebook' }) - v(before, 'latchkey_app_response_bytes_total', { app: 'notebook' })).toBe(1024 * 1024)
    expect(v(after, 'latchkey_app_request_duration_seconds_count', { app: 'notebook' })).toBe(v(before, 'latchkey_app_request_duration_seconds_count', { app: 'notebook' }) + 1)
    expect(v(after, 'latchkey_app_request_duration_seconds_bucket', { app: 'notebook', le: '+Inf' })).toBe(v(before, 'latchkey_app_request_duration_seconds_bucket', { app: 'notebook', le: '+Inf' }) + 1)
    expect(v(after, 'latchkey_app_request_duration_seconds_sum', { app: 'notebook' })).toBeGreaterThan(v(before, 'latchkey_app_request_duration_seconds_sum', { app: 'notebook' }))
    expect(v(after, 'latchkey_http_requests_total', { listener: 'app', code: '200' })).toBe(v(before, 'latchkey_http_requests_total', { listener: 'app', code: '200' }) + 1)
    expect(v(after, 'latchkey_guard_decisions_total', { via: 'access-token', outcome: 'admitted' })).toBe(v(before, 'latchkey_guard_decisions_total', { via: 'access-token', outcome: 'admitted' }) + 1)
    expect(v(after, 'latchkey_app_health', { app: 'notebook', state: 'up' })).toBe(1)
    expect(v(after, 'latchkey_app_health', { app: 'notebook', state: 'down' })).toBe(0)
  })

  it('a wrong token moves the guard\'s 401 counter and the listener\'s 401s', async () => {
    const before = await scrape()
    const res = await peer.fetch(dashboard('/api/remote/status'), bearer('not-the-token-8e1f0a'))
    expect(res.status).toBe(401)
    const after = await scrape()
    expect(v(after, 'latchkey_guard_decisions_total', { via: 'anonymous', outcome: '401' })).toBe(v(before, 'latchkey_guard_decisions_total', { via: 'anonymous', outcome: '401' }) + 1)
    expect(v(after, 'latchkey_http_requests_total', { listener: 'dashboard', code: '401' })).toBe(v(before, 'latchkey_http_requests_total', { listener: 'dashboard', code: '401' }) + 1)
  })

  it('a sign-in moves the active sessions gauge, by role and kind', async () => {
    const before = v(await scrape(), 'latchkey_active_sessions', { role: 'viewer', kind: 'short-lived' })
    await viewerCookie()
    expect(v(await scrape(), 'latchkey_active_sessions', { role: 'viewer', kind: 'short-lived' })).toBe(before + 1)
  })

  it('a webhook delivery moves deliveries, and a receiver that answers 400 moves failures', async () => {
    const before = await scrape()
    const [okSeen, failingSeen] = [ok.received.length, failing.received.length]
    const sent = await fetch(lk.url('/api/webhooks/test'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(sent.status).toBe(202)
    await ok.waitFor(okSeen + 1)
    await failing.waitFor(failingSeen + 1)
    let after = before
    const end = Date.now() + 5000
    while (Date.now() < end) {
      after = await scrape()
      if (v(after, 'latchkey_webhook_deliveries_total', { webhook: '0' }) > v(before, 'latchkey_webhook_deliveries_total', { webhook: '0' }) && v(after, 'latchkey_webhook_failures_total', { webhook: '1' }) > v(before, 'latchkey_webhook_failures_total', { webhook: '1' })) break
      await Bun.sleep(50)
    }
    expect(v(after, 'latchkey_webhook_deliveries_total', { webhook: '0' })).toBe(v(before, 'latchkey_webhook_deliveries_total', { webhook: '0' }) + 1)
    expect(v(after, 'latchkey_webhook_failures_total', { webhook: '0' })).toBe(0)
    expect(v(after, 'latchkey_webhook_failures_total', { webhook: '1' })).toBe(v(before, 'latchkey_webhook_failures_total', { webhook: '1' }) + 1)
    expect(v(after, 'latchkey_webhook_deliveries_total', { webhook: '1' })).toBe(v(before, 'latchkey_webhook_deliveries_total', { webhook: '1' }))
  })

  it('shows no secret: no token, API key, login token, session cookie or session id', async () => {
    const text = await (await fetch(lk.url('/metrics'))).text()
    const listed = await (await fetch(lk.url('/api/remote/sessions'))).json()
    const ids: string[] = listed.sessions.map((s: { id: string }) => s.id)
    expect(ids.length).toBeGreaterThan(0)
    for (const s of [...secrets, ...ids]) expect(text).not.toContain(s)
  })

  it('wrong guesses past the limit move the guard\'s 429 counter', async () => {
    const before = v(await scrape(), 'latchkey_guard_decisions_total', { via: 'anonymous', outcome: '429' })
    let limited = 0
    for (let i = 0; i < 15 && limited === 0; i++) {
      const res = await peer.fetch(dashboard('/api/remote/status'), bearer(`wrong-guess-${i}-4f7c1a`))
      if (res.status === 429) limited++
    }
    expect(limited).toBe(1)
    expect(v(await scrape(), 'latchkey_guard_decisions_total', { via: 'anonymous', outcome: '429' })).toBe(before + 1)
  })
})

describe('tunnel metrics', () => {
  let h: Harness | null = null
  afterAll(async () => {
    await h?.stop()
  })

  it('show the tunnel\'s state and count its automatic restarts (fake cloudflared that crashes)', async () => {
    h = await startHarness({
      settings: quickSettings({ lifecycle: { autoRestart: true } }),
      env: { FAKE_CLOUDFLARED_MODE: 'crash-after', FAKE_CLOUDFLARED_CRASH_AFTER_MS: '600' },
    })
    const read = async () => parseExposition(await (await fetch(h!.lk.url('/metrics', 'api'))).text())
    const idle = await read()
    expect(v(idle, 'latchkey_tunnel_state', { provider: 'cloudflare', state: 'stopped' })).toBe(1)
    expect(v(idle, 'latchkey_tunnel_restarts_total')).toBe(0)
    expect((await h.api('POST', '/remote/tunnel/start')).status).toBe(202)
    await h.waitState('running')
    const running = await read()
    expect(v(running, 'latchkey_tunnel_state', { provider: 'cloudflare', state: 'running' })).toBe(1)
    expect(v(running, 'latchkey_tunnel_state', { provider: 'cloudflare', state: 'stopped' })).toBe(0)
    await h.waitState('failed')
    await h.waitState('running', 8000)
    expect(v(await read(), 'latchkey_tunnel_restarts_total')).toBe(1)
  })
})
