/**
 * Hostile input against a running latchkey (issue 10), property-based with fast-check:
 * the JSON body of every POST/PUT route, query strings, and headers (arbitrary names and
 * values within the HTTP grammar, duplicates over raw TCP, huge values). Sent as the local
 * admin from loopback, so every request reaches validation. Always: a status below 500, a
 * 4xx carries `{ error, message }` and never echoes a submitted string value, settings.json
 * is byte for byte unchanged after a 4xx, and latchkey still answers /api/health after.
 * Fixed seed (FC_SEED overrides); a failure prints the seed and the shrunk input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { rawHttp } from '../helpers/raw-http.ts'

const SEED = Number(process.env.FC_SEED ?? 20240611)
const check = <T>(prop: fc.IAsyncProperty<T>, numRuns: number) => fc.assert(prop, { seed: SEED, numRuns, verbose: 1 })

let lk: Latchkey
let upstream: ReturnType<typeof Bun.serve>
let receiver: ReturnType<typeof Bun.serve>
let settingsPath: string

beforeAll(async () => {
  upstream = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('app') })
  receiver = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('ok') })
  lk = await startLatchkey({
    yaml: [
      'apps:',
      '  - name: config-app',
      `    target: http://127.0.0.1:${upstream.port}`,
      'webhooks:',
      `  - url: http://127.0.0.1:${receiver.port}/hook`,
      '',
    ].join('\n'),
    // The one-click install must fail closed without reaching the internet.
    env: { LATCHKEY_CLOUDFLARED_MANIFEST: '/nonexistent/manifest.json', FAKE_CLOUDFLARED_READY_DELAY_MS: '100' },
  })
  settingsPath = join(lk.dataDir, 'settings.json')
  // A dashboard app to edit, pause and restart.
  const res = await fetch(lk.url('/api/apps'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'dash-app', target: `http://127.0.0.1:${upstream.port}` }) })
  expect(res.status).toBe(201)
})
afterAll(async () => {
  await lk?.stop()
  upstream?.stop(true)
  receiver?.stop(true)
})

const settingsBytes = () => (existsSync(settingsPath) ? readFileSync(settingsPath).toString('base64') : '(none)')

/** Every state-changing route with a valid body (the seed for near-valid mutations). */
const ROUTES: { method: 'POST' | 'PUT'; path: string; valid: unknown }[] = [
  { method: 'POST', path: '/api/remote/provider/activate', valid: { provider: 'cloudflare' } },
  { method: 'POST', path: '/api/remote/tunnel/start', valid: {} },
  { method: 'POST', path: '/api/remote/tunnel/stop', valid: {} },
  { method: 'POST', path: '/api/remote/tunnel/kill-external', valid: {} },
  { method: 'POST', path: '/api/remote/providers/cloudflare/install', valid: {} },
  { method: 'PUT', path: '/api/remote/settings', valid: { providers: { tailscale: { hostname: 'box.tailnet.ts.net', targetPort: 8443, mode: 'serve' }, cloudflare: { tunnelName: 'home', tunnelToken: 'secret-tunnel-token-value' } }, tokenStrategy: { shortLived: { ttlMs: 60000 } } } },
  { method: 'PUT', path: '/api/settings/global', valid: { remoteAccess: { lifecycle: { autoRestart: false }, providers: { cloudflare: { ingressUrl: 'https://lk.example.com' } } } } },
  { method: 'POST', path: '/api/apps', valid: { name: 'fuzz-app', target: 'http://127.0.0.1:9', path: '/apps/fuzz-app', role: 'admin', identityHeaders: true } },
  { method: 'PUT', path: '/api/apps/dash-app', valid: { name: 'dash-app', target: 'http://127.0.0.1:9', role: 'viewer' } },
  { method: 'PUT', path: '/api/apps/config-app', valid: { name: 'config-app', target: 'http://127.0.0.1:9' } },
  { method: 'POST', path: '/api/apps/dash-app/pause', valid: {} },
  { method: 'POST', path: '/api/apps/dash-app/resume', valid: {} },
  { method: 'POST', path: '/api/apps/dash-app/restart', valid: {} },
  { method: 'POST', path: '/api/session/logout', valid: {} },
  { method: 'POST', path: '/api/remote/token/persistent/regenerate', valid: {} },
  { method: 'POST', path: '/api/remote/token/short-lived/generate', valid: { ttlMs: 60000, oneTime: true, role: 'viewer' } },
  { method: 'POST', path: '/api/remote-access/auth/login-url', valid: { mode: 'short-lived', ttlMs: 60000, oneTime: false, role: 'admin' } },
  { method: 'POST', path: '/api/webhooks/test', valid: { webhook: 0 } },
  { method: 'PUT', path: '/api/preferences', valid: { theme: 'dark', layout: 'grid', sort: 'recent', pinnedApps: ['dash-app'], filter: 'note' } },
]

const APP_NAMES = ['config-app', 'dash-app', 'fuzz-app']

/** Words of latchkey's own vocabulary: a submitted value equal to one may appear in a message. */
const VOCABULARY = /^(persistent|short-lived|tailscale|cloudflare|admin|viewer|system|light|dark|recent|status|funnel|serve|image\/svg|image\/png|remoteAccess|pinnedApps|identityHeaders|[a-z][A-Za-z]+)$/

/** A value likely to be a secret someone pasted: never to be repeated back. */
const marker = fc.string({ minLength: 8, maxLength: 24, unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789_-') }).map((s) => `Zq${s}`)
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  marker,
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, 65536, 2 ** 53, '', ' ', '\u0000', 'a'.repeat(5000), [], {}, [null], { __proto__: null }, '../../etc/passwd', 'http://127.0.0.1:9', '/apps/x', 'tailscale', 'short-lived'),
)

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** Every path to a value inside an object (for near-valid mutations). */
function pathsOf(o: unknown, at: string[] = []): string[][] {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return []
  return Object.entries(o).flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])])
}

const edit = fc.record({ pick: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'add', 'wrap'), value: anyValue, key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'remoteAccess', 'token', 'enabled')) })

/** A valid body changed in one to three places. */
function nearValid(valid: unknown, edits: { pick: number; kind: string; value: unknown; key: string }[]): unknown {
  let body: any = structuredClone(valid)
  for (const e of edits) {
    const paths = pathsOf(body)
    if (e.kind === 'wrap' || paths.length === 0) {
      body = e.kind === 'wrap' ? [body] : { [e.key]: e.value }
      continue
    }
    const at = paths[e.pick % paths.length]
    let parent = body
    for (const k of at.slice(0, -1)) parent = parent[k]
    if (!parent || typeof parent !== 'object') continue
    const last = at.at(-1)!
    if (e.kind === 'replace') parent[last] = e.value
    else if (e.kind === 'delete') delete parent[last]
    else Object.defineProperty(parent, e.key, { value: e.value, enumerable: true, configurable: true, writable: true })
  }
  return body
}

/** Submitted string values that must never come back in an error body. */
function secretsIn(body: unknown, keys = new Set<string>()): string[] {
  const out: string[] = []
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (keys.add(k), walk(x))
  }
  walk(body)
  return out.filter((s) => s.trim().length >= 8 && !keys.has(s) && !VOCABULARY.test(s) && new Set(s).size > 2)
}

async function sendAndCheck(method: string, path: string, text: string | null, sent: unknown, problems: string[]): Promise<number> {
  const before = settingsBytes()
  const res = await fetch(lk.url(path), { method, headers: { 'content-type': 'application/json' }, body: text ?? undefined })
  const body = await res.text()
  const where = `${method} ${path} ${text === null ? '(no body)' : text.slice(0, 300)}`
  if (res.status >= 500) problems.push(`${where} → ${res.status} ${body.slice(0, 300)}`)
  if (res.status >= 400 && res.status < 500) {
    let parsed: any = null
    try {
      parsed = JSON.parse(body)
    } catch {}
    if (typeof parsed?.error !== 'string' || typeof parsed?.message !== 'string') problems.push(`${where} → ${res.status} without { error, message }: ${body.slice(0, 200)}`)
    // App names are identifiers, echoed on purpose ("app_exists", "app_read_only"): not secrets.
    const secrets = secretsIn(sent).filter((s) => !(path.startsWith('/api/apps') && APP_NAMES.includes(s)))
    for (const s of secrets) if (body.includes(s) || body.includes(JSON.stringify(s).slice(1, -1))) problems.push(`${where} → ${res.status} echoes ${JSON.stringify(s)}`)
    if (settingsBytes() !== before) problems.push(`${where} → ${res.status} but settings.json changed`)
  }
  return res.status
}

describe('JSON bodies of every POST/PUT route', () => {
  it('accepts each route\'s valid body (the control for the mutations)', async () => {
    const problems: string[] = []
    for (const r of ROUTES) {
      const status = await sendAndCheck(r.method, r.path, JSON.stringify(r.valid), r.valid, problems)
      // A few routes refuse for the state they find (409: nothing to install, config app read-only).
      if (status >= 400 && status !== 409) problems.push(`${r.method} ${r.path}: valid body got ${status}`)
    }
    expect(problems).toEqual([])
  })

  it('answers arbitrary JSON values with < 500, a clean 4xx and no write', async () => {
    const problems: string[] = []
    await check(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.oneof(anyValue, fc.dictionary(fc.string({ maxLength: 10 }), anyValue, { maxKeys: 4 })), async (r, value) => {
        await sendAndCheck(r.method, r.path, JSON.stringify(value), value, problems)
      }),
      250,
    )
    expect(problems).toEqual([])
  })

  it('answers near-valid mutations of each route\'s body with < 500, a clean 4xx and no write', async () => {
    const problems: string[] = []
    let refused = 0
    await check(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.array(edit, { minLength: 1, maxLength: 3 }), async (r, edits) => {
        const body = nearValid(r.valid, edits)
        if ((await sendAndCheck(r.method, r.path, JSON.stringify(body), body, problems)) >= 400) refused++
      }),
      300,
    )
    expect(problems).toEqual([])
    expect(refused).toBeGreaterThan(50)
  })

  it('answers broken JSON, empty bodies and deep nesting with < 500 and a clean 4xx', async () => {
    const problems: string[] = []
    const broken = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom('', '{', '[', '{"a":', 'nul', '{"a":1,}', '\u0000', '"\\ud800"', '{"a":"\\u00"}', '[' .repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(3000) + '1' + '}'.repeat(3000), '1e999999'),
    )
    await check(
      fc.asyncProperty(fc.constantFrom(...ROUTES), broken, async (r, text) => {
        await sendAndCheck(r.method, r.path, text, text, problems)
      }),
      150,
    )
    for (const r of ROUTES) await sendAndCheck(r.method, r.path, null, null, problems)
    expect(problems).toEqual([])
  })
})

const tchar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')
const headerName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20, unit: tchar }),
  fc.constantFrom('host', 'authorization', 'cookie', 'origin', 'sec-fetch-site', 'sec-fetch-mode', 'content-type', 'content-length', 'transfer-encoding', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-latchkey-identity', 'tailscale-user-login', 'cf-connecting-ip', 'accept', 'upgrade', 'connection', 'expect', 'range', 'if-none-match'),
)
// field-value: visible ASCII, SP and HTAB, not leading or trailing whitespace (RFC 9110 §5.5).
const vchar = fc.constantFrom(...Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)), ' ', '\t')
const headerValue = fc.oneof(
  fc.string({ maxLength: 40, unit: vchar }).map((s) => s.trim()),
  fc.constantFrom('', 'Bearer', 'Bearer ', 'Bearer  x', 'bearer x y', 'latchkey_session=', 'latchkey_session=;latchkey_session=x', '100-continue', 'chunked', 'websocket', 'null', 'http://evil.example', 'bytes=0-0,1-1', 'application/json; charset=utf-8', '*/*', '9999999999999999999999'),
)
const GETS = ['/api/health', '/api/whoami', '/api/access', '/api/remote/status', '/api/remote/settings', '/api/apps', '/api/remote/sessions', '/api/webhooks', '/api/preferences', '/', '/index.html', '/remote-login', '/apps/config-app/x', '/nope']

describe('query strings and headers', () => {
  it('answers arbitrary query strings on GET routes with < 500', async () => {
    const problems: string[] = []
    const path = fc.constantFrom('/api/remote/url', '/api/remote/qr', '/api/apps/dash-app/access-log', '/api/connect', '/remote-login', '/', '/api/whoami', '/api/remote/status')
    const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('tokenType', 'ttlMs', 'oneTime', 'role', 'format', 'limit', 'rt', 'token', 'mode'))
    const val = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', 'persistent', 'short-lived', 'image/svg', 'image/png', 'json', '-1', '0', '1e400', 'NaN', 'true', '999999999999', '%', '%zz', '%00', '%ff%fe'))
    await check(
      fc.asyncProperty(path, fc.array(fc.tuple(key, val), { maxLength: 4 }), fc.boolean(), async (p, pairs, raw) => {
        // raw: the pair as typed (bad escapes kept); otherwise properly encoded.
        const q = pairs.map(([k, v]) => (raw ? `${k}=${v}`.replace(/[#\s]/g, '') : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&')
        const res = await fetch(lk.url(`${p}?${q}`), { headers: { accept: 'application/json' } })
        await res.arrayBuffer()
        if (res.status >= 500) problems.push(`${p}?${q} → ${res.status}`)
      }),
      200,
    )
    expect(problems).toEqual([])
  })

  it('answers arbitrary header names and values (raw TCP, duplicates included) with < 500', async () => {
    const problems: string[] = []
    let answered = 0
    await check(
      fc.asyncProperty(fc.constantFrom(...GETS), fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }), fc.boolean(), async (path, headers, post) => {
        const lines = headers.filter(([n]) => n.toLowerCase() !== 'content-length' && n.toLowerCase() !== 'transfer-encoding' && n.toLowerCase() !== 'connection').map(([n, v]) => `${n}: ${v}`)
        const hasHost = headers.some(([n]) => n.toLowerCase() === 'host')
        const body = post ? '{}' : ''
        const text = [`${post ? 'POST' : 'GET'} ${path} HTTP/1.1`, ...(hasHost ? [] : [`Host: 127.0.0.1:${lk.dashboardPort}`]), ...lines, `Content-Length: ${body.length}`, 'Connection: close', '', body].join('\r\n')
        const res = await rawHttp(lk.dashboardPort, text)
        if (res.status >= 500) problems.push(`${JSON.stringify(text)} → ${res.raw.slice(0, 300)}`)
        if (res.status > 0) answered++
      }),
      250,
    )
    expect(problems).toEqual([])
    // Not vacuous: most requests got an HTTP answer (the rest were closed as malformed).
    expect(answered).toBeGreaterThan(200)
  })

  it('answers huge and repeated headers, a huge URL and a huge cookie with 4xx or a closed connection, never a 500', async () => {
    const big = (n: number) => 'a'.repeat(n)
    const cases = [
      `GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big(16 * 1024)}\r\nConnection: close\r\n\r\n`,
      `GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big(1024 * 1024)}\r\nConnection: close\r\n\r\n`,
      `GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${big(200 * 1024)}\r\nConnection: close\r\n\r\n`,
      `GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: latchkey_session=${big(100 * 1024)}\r\nConnection: close\r\n\r\n`,
      `GET /api/whoami?token=${big(512 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      `GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\nConnection: close\r\n\r\n`,
      `GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 500 }, () => 'Authorization: Bearer x').join('\r\n')}\r\nConnection: close\r\n\r\n`,
      `GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 500 }, () => 'Cookie: latchkey_session=x').join('\r\n')}\r\nConnection: close\r\n\r\n`,
    ]
    const statuses: number[] = []
    for (const text of cases) {
      const res = await rawHttp(lk.dashboardPort, text, '127.0.0.1', 10_000)
      statuses.push(res.status)
    }
    // Duplicates within the limits reach latchkey, which answers them (never a 500).
    for (const name of ['Authorization: Bearer x', 'Cookie: latchkey_session=x', 'Origin: http://evil.example', 'Content-Type: application/json', 'Sec-Fetch-Site: cross-site', 'X-Forwarded-For: 127.0.0.1']) {
      const res = await rawHttp(lk.dashboardPort, `POST /api/session/logout HTTP/1.1\r\nHost: 127.0.0.1:${lk.dashboardPort}\r\n${Array.from({ length: 20 }, () => name).join('\r\n')}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)
      expect(res.status).toBeGreaterThanOrEqual(200)
      expect(res.status).toBeLessThan(500)
    }
    // Too large: 431 (or a closed connection); within limits: an ordinary answer. Never a 500.
    expect(statuses.every((s) => s === 0 || (s >= 200 && s < 500))).toBe(true)
    expect(statuses.filter((s) => s === 431 || s === 413 || s === 400).length).toBeGreaterThanOrEqual(2)
    expect((await fetch(lk.url('/api/health'))).status).toBe(200)
  })

  it('is still answering /api/health, and logged no request failure, after everything above', async () => {
    const res = await fetch(lk.url('/api/health'))
    expect(res.status).toBe(200)
    expect(lk.proc.exitCode).toBeNull()
    expect(lk.output()).not.toMatch(/request failed|internal_error/)
  })
})
