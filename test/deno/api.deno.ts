/**
 * The API integration tests against latchkey started by `deno run -A src/main.ts`: the guard
 * from a namespace peer, remote status, tunnel start/stop with the fake cloudflared, the login
 * URL and /remote-login, headless mode, and the dashboard served from the built bundle.
 * Run by scripts/test-deno.sh (deno test, JUnit report in test-results/deno.xml).
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { canCreateNamespaces, createPeer } from '../helpers/netns.ts'
import { FAST, alive, getJson, post, quickSettings, sleep, startDenoLatchkey, tempDir } from './helpers.ts'

// Deno's globals are untyped under bun-types (tsconfig for `npm run lint`); declare the one we use.
declare const Deno: { test(name: string, options: object, fn: () => Promise<void>): void }

// Child processes and sockets outlive single ops by design here; each test stops what it starts.
const opts = { sanitizeOps: false, sanitizeResources: false }

Deno.test('runs under Deno: the version line names the runtime', opts, async () => {
  const { spawnSync } = await import('node:child_process')
  const { DENO, ROOT } = await import('./helpers.ts')
  const r = spawnSync(DENO, ['run', '-A', `${ROOT}/src/main.ts`, '--version'], { encoding: 'utf8' })
  assert.equal(r.status, 0)
  assert.match(r.stdout, /deno/i)
})

Deno.test('guard: a namespace peer needs a credential; loopback is the local admin', opts, async () => {
  assert.ok(canCreateNamespaces(), 'these tests need root and iproute2 (network namespaces)')
  const peer = createPeer()
  const lk = await startDenoLatchkey({ args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress] })
  try {
    assert.ok(lk.token, 'remote access on: the banner prints a token')
    const remote = (path: string) => `http://${peer.hostAddress}:${lk.apiPort}${path}`
    const anon = await peer.fetch(remote('/api/remote/status'))
    assert.equal(anon.status, 401)
    const forged = await peer.fetch(remote('/api/remote/status'), { headers: { 'x-forwarded-for': '127.0.0.1', host: `127.0.0.1:${lk.apiPort}` } })
    assert.equal(forged.status, 401)
    const authed = await peer.fetch(remote('/api/whoami'), { headers: { authorization: `Bearer ${lk.token}` } })
    assert.equal(authed.status, 200)
    assert.equal(authed.json().role, 'admin')
    const wrong = await peer.fetch(remote('/api/remote/status'), { headers: { authorization: 'Bearer not-the-token-0123456789' } })
    assert.equal(wrong.status, 401)
    const local = await getJson(lk.url('/api/whoami'))
    assert.equal(local.status, 200)
    assert.equal(local.body.role, 'admin')
    // The tunnel ingress is never loopback-exempt, even from 127.0.0.1.
    const ingress = await fetch(`http://127.0.0.1:${lk.cloudflareIngressPort}/api/remote/status`)
    assert.equal(ingress.status, 401)
    await ingress.body?.cancel()
  } finally {
    await lk.stop()
    peer.destroy()
  }
})

Deno.test('remote status: state, provider and restore diagnostics', opts, async () => {
  const lk = await startDenoLatchkey({ args: ['--host', '127.0.0.1'], settings: quickSettings() })
  try {
    const { status, body } = await getJson(lk.url('/api/remote/status'))
    assert.equal(status, 200)
    assert.equal(body.state, 'stopped')
    assert.equal(body.provider, 'cloudflare')
    assert.equal(body.url, null)
    assert.equal(body.restore.outcome, 'skipped')
    assert.equal(body.restore.reason, 'remember_last_running_disabled')
  } finally {
    await lk.stop()
  }
})

Deno.test('tunnel start and stop with the fake cloudflared', opts, async () => {
  const records = tempDir('lk-cfrec-')
  const lk = await startDenoLatchkey({ args: ['--host', '127.0.0.1'], settings: quickSettings(), env: { ...FAST, FAKE_CLOUDFLARED_RECORD_DIR: records, LATCHKEY_TUNNEL_GRACE_MS: '1500' } })
  try {
    const started = await post(lk.url('/api/remote/tunnel/start'))
    assert.equal(started.status, 202)
    assert.equal(started.body.state, 'starting')
    let status: any
    for (const end = Date.now() + 15_000; Date.now() < end; await sleep(50)) {
      status = (await getJson(lk.url('/api/remote/status'))).body
      if (status.state === 'running') break
    }
    assert.equal(status.state, 'running')
    assert.match(status.url, /^https:\/\/[a-z-]+\.trycloudflare\.com$/)
    assert.ok(alive(status.pid))
    const again = await post(lk.url('/api/remote/tunnel/start'))
    assert.equal(again.status, 409)
    assert.equal(again.body.error, 'tunnel_already_running')
    const stopped = await post(lk.url('/api/remote/tunnel/stop'))
    assert.equal(stopped.status, 200)
    assert.equal(stopped.body.state, 'stopped')
    assert.equal(alive(status.pid), false)
  } finally {
    await lk.stop()
    rmSync(records, { recursive: true, force: true })
  }
})

Deno.test('login URL and /remote-login from a namespace peer', opts, async () => {
  const peer = createPeer()
  const lk = await startDenoLatchkey({ args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress] })
  try {
    const made = await post(lk.url('/api/remote-access/auth/login-url'), { mode: 'short-lived', oneTime: true })
    assert.equal(made.status, 200)
    assert.equal(made.body.tokenType, 'short-lived')
    assert.ok(made.body.url.startsWith(`http://${peer.hostAddress}:${lk.dashboardPort}/remote-login?rt=`))
    const login = await peer.fetch(made.body.url)
    assert.equal(login.status, 302)
    assert.equal(login.headers.get('location'), '/')
    const cookie = /latchkey_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0]
    assert.ok(cookie, 'a session cookie is set')
    const me = await peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/api/remote/status`, { headers: { cookie: cookie! } })
    assert.equal(me.status, 200)
    const reused = await peer.fetch(made.body.url, { headers: { accept: 'application/json' } })
    assert.equal(reused.status, 401)
    assert.equal(reused.json().error, 'remote_token_invalid')
    const missing = await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/remote-login`, { headers: { accept: 'application/json' } })
    assert.equal(missing.json().error, 'remote_token_missing')
    const persistent = await post(lk.url('/api/remote-access/auth/login-url'), { mode: 'persistent' })
    assert.equal(persistent.status, 200)
    assert.equal((await peer.fetch(persistent.body.url)).status, 302)
  } finally {
    await lk.stop()
    peer.destroy()
  }
})

Deno.test('headless serve: API only, the root path says so; SIGTERM exits 0', opts, async () => {
  const lk = await startDenoLatchkey({ args: ['serve', '--host', '127.0.0.1'] })
  let stopped = false
  try {
    assert.equal(lk.dashboardPort, 0)
    const root = await getJson(lk.url('/'))
    assert.equal(root.status, 404)
    assert.equal(root.body.error, 'headless')
    assert.equal((await getJson(lk.url('/api/remote/status'))).status, 200)
    stopped = true
    assert.equal(await lk.stop(), 0)
  } finally {
    if (!stopped) await lk.stop()
  }
})

Deno.test('dashboard: served from the built bundle', opts, async () => {
  const lk = await startDenoLatchkey({ args: ['--host', '127.0.0.1'] })
  try {
    const res = await fetch(lk.url('/', 'dashboard'))
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/html/)
    const html = await res.text()
    const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1]
    assert.ok(script, 'the page loads a bundled script')
    const js = await fetch(lk.url(script!, 'dashboard'))
    assert.equal(js.status, 200)
    assert.match(js.headers.get('content-type') ?? '', /javascript/)
    await js.body?.cancel()
  } finally {
    await lk.stop()
  }
})
