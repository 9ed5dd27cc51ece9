/**
 * Security regression suite (issue 10), one test per attack class around credentials: empty
 * secrets, replayed one-time tokens, expired tokens, revoked sessions, tagged Tailscale nodes
 * (fake LocalAPI), token guessing through a tunnel (the fake cloudflared quick tunnel), and
 * tokens in Referer / logs / argv / error bodies after a session of use. Remote callers are
 * network-namespace peers; the tunnel is the fake cloudflared's local forwarder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, type Peer, type PeerRequest, type PeerResponse } from '../helpers/netns.ts'
import { startLatchkey, tempDir, type Latchkey } from '../helpers/latchkey.ts'
import { startFakeLocalApi, type FakeLocalApi } from '../fakes/localapi.ts'
import { PER_CLIENT } from '../../src/guard/guess-limiter.ts'

const API_KEY = 'security-suite-api-key-0123456789abcdef'
const ADMIN_ID = 12345
let lk: Latchkey
let localApi: FakeLocalApi
let cfRecords: string
const peers: Record<'empty' | 'replay' | 'owner' | 'tagged' | 'admin', Peer> = {} as any

/** Every secret seen during the run, and every error body and Location, for the final scan. */
const secrets = new Set<string>([API_KEY])
const seen: string[] = []
function record(res: PeerResponse): PeerResponse {
  if (res.status >= 400) seen.push(`${res.status} ${res.body}`)
  const location = res.headers.get('location')
  if (location) seen.push(`location ${location}`)
  const cookie = /latchkey_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1]
  if (cookie) secrets.add(cookie)
  return res
}
const from = async (p: Peer, path: string, init: PeerRequest = {}, port = lk.dashboardPort) => record(await p.fetch(`http://${p.hostAddress}:${port}${path}`, init))
const json = { accept: 'application/json' }

/** An admin call from loopback: with `admins` set, the local user needs the API key. */
async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(lk.url(path), { method, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const out = await res.json()
  if (out.token) secrets.add(out.token)
  const rt = out.url ? new URL(out.url).searchParams.get('rt') : null
  if (rt) secrets.add(rt)
  return { status: res.status, ...out }
}
const loginLink = async (opts: Record<string, unknown> = {}) => (await admin('POST', '/api/remote/token/short-lived/generate', opts)).token as string

beforeAll(async () => {
  for (const name of ['empty', 'replay', 'owner', 'tagged', 'admin'] as const) peers[name] = createPeer()
  localApi = await startFakeLocalApi({
    peers: {
      // The same person's ID on a tagged node: tagged nodes have no identity, whatever the ID.
      [peers.tagged.peerAddress]: { Tags: ['tag:server'], UserProfile: { ID: ADMIN_ID, LoginName: 'alice@example.com' } },
      [peers.admin.peerAddress]: { UserProfile: { ID: ADMIN_ID, LoginName: 'alice@example.com', DisplayName: 'Alice' } },
    },
  })
  cfRecords = tempDir('lk-sec-cfrec-')
  const dataDir = tempDir('lk-sec-tokens-')
  writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ remoteAccess: { enabled: true, activeProvider: 'cloudflare', providers: { cloudflare: { enabled: true, quickTunnel: true } } } }))
  lk = await startLatchkey({
    dataDir,
    args: ['--host', '0.0.0.0', '--tailscale-socket', localApi.socketPath],
    // Secrets through the environment, as the docs advise (argv is visible to other users).
    env: { LATCHKEY_API_KEY: API_KEY, FAKE_CLOUDFLARED_READY_DELAY_MS: '150', FAKE_CLOUDFLARED_REGISTER_DELAY_MS: '50', FAKE_CLOUDFLARED_SHUTDOWN_MS: '50', FAKE_CLOUDFLARED_RECORD_DIR: cfRecords, LATCHKEY_TUNNEL_GRACE_MS: '1500' },
    yaml: `admins: ["${ADMIN_ID}"]\n`,
  })
  if (lk.token) secrets.add(lk.token)
})
afterAll(async () => {
  await lk?.stop()
  rmSync(lk?.dataDir ?? '/nonexistent', { recursive: true, force: true })
  rmSync(cfRecords, { recursive: true, force: true })
  await localApi?.stop()
  for (const p of Object.values(peers)) p?.destroy()
})

describe('empty secrets', () => {
  it('never accepts an empty bearer, ?token=, rt= or cookie, and refuses an empty API key in the config', async () => {
    const p = peers.empty
    const cases: [string, PeerRequest][] = [
      ['/api/remote/status', { headers: { authorization: 'Bearer ' } }],
      ['/api/remote/status', { headers: { authorization: 'Bearer' } }],
      ['/api/remote/status?token=', {}],
      ['/api/remote/status?token', {}],
      ['/api/remote/status', { headers: { cookie: 'latchkey_session=' } }],
      ['/api/remote/status', { headers: { cookie: 'latchkey_session' } }],
    ]
    for (const [path, init] of cases) expect({ path, init, status: (await from(p, path, init)).status }).toEqual({ path, init, status: 401 })
    for (const q of ['', '?rt=', '?rt', '?rt=&rt=']) {
      const res = await from(p, `/remote-login${q}`, { headers: json })
      expect(res.status).toBe(401)
      expect(res.json().error).toBe('remote_token_missing')
      expect(res.headers.get('set-cookie')).toBeNull()
    }
    // The configuration side: an empty key in latchkey.yaml stops start-up with exit 2.
    const bad = await startLatchkey({ yaml: 'apiKey: ""\n', waitReady: false })
    const code = await new Promise<number | null>((r) => (bad.proc.exitCode !== null ? r(bad.proc.exitCode) : bad.proc.on('exit', (c) => r(c))))
    await bad.stop()
    expect(code).toBe(2)
    expect(bad.output()).toContain('"apiKey" must be a non-empty string')
  })
})

describe('replayed one-time tokens', () => {
  it('signs in exactly one of ten simultaneous uses of a one-time link', async () => {
    const token = await loginLink({ oneTime: true })
    const tries = await Promise.all(Array.from({ length: 10 }, () => from(peers.replay, `/remote-login?rt=${token}`, { headers: json })))
    const statuses = tries.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 302)).toHaveLength(1)
    expect(statuses.filter((s) => s === 401)).toHaveLength(9)
    for (const r of tries.filter((r) => r.status === 401)) expect(r.json().error).toBe('remote_token_invalid')
    expect(tries.filter((r) => r.headers.get('set-cookie')).length).toBe(1)
  })
})

describe('expired tokens', () => {
  it('refuses a short-lived link after its TTL, without signing in', async () => {
    const token = await loginLink({ ttlMs: 1000 })
    await Bun.sleep(1300)
    const res = await from(peers.owner, `/remote-login?rt=${token}`, { headers: json })
    expect(res.status).toBe(401)
    expect(res.json().error).toBe('remote_token_expired')
    expect(res.headers.get('set-cookie')).toBeNull()
  })
})

describe('revoked sessions', () => {
  it('ends a revoked device at once on the API, the page and the event stream', async () => {
    const token = await loginLink()
    const cookie = /latchkey_session=[^;]+/.exec((await from(peers.owner, `/remote-login?rt=${token}`)).headers.get('set-cookie')!)![0]
    // The control: the session works everywhere before it is revoked.
    expect((await from(peers.owner, '/api/remote/status', { headers: { cookie } })).status).toBe(200)
    expect((await from(peers.owner, '/', { headers: { cookie, accept: 'text/html' } })).status).toBe(200)
    const id = (await admin('GET', '/api/remote/sessions')).sessions.find((s: any) => !s.current && s.issuer === 'short-lived')?.id
    expect(id).toBeString()
    expect((await admin('DELETE', `/api/remote/sessions/${id}`)).revoked).toBe(true)
    expect((await from(peers.owner, '/api/remote/status', { headers: { cookie } })).status).toBe(401)
    expect((await from(peers.owner, '/api/remote/events', { headers: { cookie } })).status).toBe(401)
    expect((await from(peers.owner, '/', { headers: { cookie, accept: 'text/html' } })).status).toBe(401)
    expect((await from(peers.owner, '/api/whoami', { headers: { cookie } })).json().role).toBe('none')
  })
})

describe('tagged Tailscale nodes', () => {
  it('gives a tagged node no identity even when its profile ID is an admin, while the same ID untagged is admin', async () => {
    const tagged = await from(peers.tagged, '/api/whoami')
    expect(tagged.json()).toMatchObject({ role: 'none', tailscale: null })
    expect((await from(peers.tagged, '/api/remote/settings')).status).toBe(401)
    expect((await from(peers.tagged, '/api/remote/status')).status).toBe(401)
    // The control: the same ID from an untagged node is the admin (the LocalAPI was asked).
    expect((await from(peers.admin, '/api/whoami')).json()).toMatchObject({ role: 'admin', method: 'tailscale' })
    expect(localApi.requests.some((r) => r.path.endsWith('/whois') && r.query.addr?.startsWith(peers.tagged.peerAddress))).toBe(true)
  })
})

describe('token guessing through a tunnel', () => {
  it('answers 429 to guesses through the Cloudflare quick tunnel after the guess budget, and still admits the right token', async () => {
    expect((await admin('POST', '/api/remote/tunnel/start', {})).status).toBe(202)
    const end = Date.now() + 10_000
    while ((await admin('GET', '/api/remote/status')).state !== 'running' && Date.now() < end) await Bun.sleep(50)
    const rec = readdirSync(cfRecords).find((n) => n.endsWith('.port'))
    expect(rec).toBeString()
    const tunnel = `http://127.0.0.1:${readFileSync(join(cfRecords, rec!), 'utf8').trim()}`
    const guess = (token: string) => fetch(`${tunnel}/api/remote/status`, { headers: { authorization: `Bearer ${token}` } })
    // The control: the tunnel delivers to latchkey and the right token works.
    expect((await guess(lk.token!)).status).toBe(200)
    for (let i = 0; i < PER_CLIENT.limit; i++) expect((await guess(`tunnel-guess-${i}`)).status).toBe(401)
    const blocked = await guess('tunnel-guess-over-budget')
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    // The limits slow wrong guesses only (src/guard/guess-limiter.ts): a valid credential is
    // always admitted, so guessers behind one tunnel cannot lock its real users out.
    const right = await guess(lk.token!)
    expect(right.status).toBe(200)
    expect(await right.text()).not.toContain(lk.token!)
    const login = await fetch(`${tunnel}/remote-login?rt=${await loginLink()}`, { headers: json, redirect: 'manual' })
    expect(login.status).toBe(302)
    const wrongLink = await fetch(`${tunnel}/remote-login?rt=tunnel-guess-link`, { headers: json, redirect: 'manual' })
    expect(wrongLink.status).toBe(429)
    await admin('POST', '/api/remote/tunnel/stop', {})
  })
})

describe('tokens in Referer, logs, argv and error bodies', () => {
  it('leaves no secret of the whole run in the log (but the banner), argv, an error body or a Location', async () => {
    // A little more use: a ?token= visit, a wrong token, a persistent link and its rotation.
    const visit = await from(peers.owner, `/?token=${lk.token}&tab=apps`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect(visit.status).toBe(302)
    expect(visit.headers.get('referrer-policy')).toBe('no-referrer')
    const page = await from(peers.owner, '/', { headers: { cookie: /latchkey_session=[^;]+/.exec(visit.headers.get('set-cookie')!)![0], accept: 'text/html' } })
    // The dashboard page asks browsers to send no Referer from it, by header and by meta tag.
    expect(page.headers.get('referrer-policy')).toBe('no-referrer')
    expect(page.body).toContain('<meta name="referrer" content="no-referrer">')
    await from(peers.replay, '/api/remote/status', { headers: { authorization: `Bearer ${lk.token!.slice(0, -2)}xx` } })
    await admin('GET', '/api/remote/url?tokenType=persistent')
    await admin('POST', '/api/remote/token/persistent/regenerate', {})
    await admin('GET', '/api/remote/url?tokenType=persistent')
    expect(secrets.size).toBeGreaterThan(10)

    const log = lk.output()
    // The access token is printed once at start (the token line and the connect link).
    expect(log.split(lk.token!).length - 1).toBeLessThanOrEqual(2)
    const leaks: string[] = []
    for (const s of secrets) {
      if (s === lk.token) continue
      if (log.includes(s)) leaks.push(`log has ${s.slice(0, 6)}…`)
    }
    for (const text of seen) for (const s of secrets) if (text.includes(s)) leaks.push(`${text.slice(0, 40)} has ${s.slice(0, 6)}…`)
    // argv of latchkey and of every process it started (the tunnel child included).
    const tree = [lk.proc.pid!]
    for (let i = 0; i < tree.length; i++) {
      for (const task of readdirSync(`/proc/${tree[i]}/task`)) {
        try {
          tree.push(...readFileSync(`/proc/${tree[i]}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number))
        } catch {}
      }
    }
    for (const pid of tree) {
      let argv = ''
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      } catch {
        continue
      }
      for (const s of secrets) if (argv.includes(s)) leaks.push(`argv of ${pid} has ${s.slice(0, 6)}…`)
    }
    expect(leaks).toEqual([])
  })
})
