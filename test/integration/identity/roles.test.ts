/**
 * The role matrix over real sockets: namespace peers are the tailnet devices the fake
 * LocalAPI resolves (facts §4.2, §4.3), latchkey is pointed at the fake through
 * --tailscale-socket, and every caller × route × method row checks the status and whether
 * the handler ran. Also: /api/whoami, apiKeyFile over apiKey, and the warn line of a refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, curlFrom, type Peer, type PeerRequest, type PeerResponse } from '../../helpers/netns.ts'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { startFakeLocalApi, type FakeLocalApi } from '../../fakes/localapi.ts'

const FILE_KEY = 'file-key-0123456789abcdefghij'
const YAML_KEY = 'yaml-key-0123456789abcdefghij'
let api: FakeLocalApi
let lk: Latchkey
const peers: Record<'admin' | 'viewer' | 'tagged' | 'unknown', Peer> = {} as never
let keyDir: string

beforeAll(async () => {
  for (const name of ['admin', 'viewer', 'tagged', 'unknown'] as const) peers[name] = createPeer()
  api = await startFakeLocalApi({
    peers: {
      [peers.admin.peerAddress]: { UserProfile: { ID: 12345, LoginName: 'alice@example.com', DisplayName: 'Alice Admin', ProfilePicURL: 'https://example.com/alice.png' }, HostName: 'alice-phone' },
      [peers.viewer.peerAddress]: { UserProfile: { ID: 67890, LoginName: 'bob@example.com', DisplayName: 'Bob Viewer' } },
      [peers.tagged.peerAddress]: { Tags: ['tag:server'] },
    },
  })
  keyDir = tempDir('lk-keys-')
  writeFileSync(join(keyDir, 'api-key'), `${FILE_KEY}\n`, { mode: 0o600 })
  lk = await startLatchkey({
    // One harmless app whose paused flag an admin action flips and a viewer route reads back.
    args: ['--host', '0.0.0.0', '--tailscale-socket', api.socketPath, '--app', 'notes=http://127.0.0.1:9'],
    yaml: ['admins:', '  - "12345"  # alice', `apiKey: "${YAML_KEY}"`, `apiKeyFile: ${join(keyDir, 'api-key')}`].join('\n') + '\n',
  })
})
afterAll(async () => {
  await lk?.stop()
  await api?.stop()
  for (const p of Object.values(peers)) p?.destroy()
})

type Need = 'public' | 'viewer' | 'admin'
interface Route {
  method: 'GET' | 'POST'
  path: string
  need: Need
  /** Put the state back before each caller (for routes with a side effect). */
  reset?(): Promise<void>
  /** True when the route's own handler ran: its side effect, or an answer only it gives. */
  ran(res: PeerResponse): boolean | Promise<boolean>
}
interface CallerRow {
  name: string
  role: 'none' | 'viewer' | 'admin'
  /** Recognised but refused: 403 instead of 401. */
  denied?: boolean
  send(path: string, init: PeerRequest): Promise<PeerResponse>
}

const json = (res: PeerResponse) => {
  try {
    return res.json()
  } catch {
    return {}
  }
}
/** The admin's view of the app, read over the API with the API key. */
const asAdmin = (path: string, method = 'GET') =>
  curlFrom(null, `http://127.0.0.1:${lk.apiPort}${path}`, { method, headers: { authorization: `Bearer ${FILE_KEY}`, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' })
const notesPaused = async () => (await asAdmin('/api/apps')).json().apps.find((a: { name: string }) => a.name === 'notes').paused as boolean

const ROUTES: Route[] = [
  { method: 'GET', path: '/api/health', need: 'public', ran: (r) => json(r).status === 'ok' },
  { method: 'GET', path: '/api/whoami', need: 'public', ran: (r) => 'authenticated' in json(r) },
  { method: 'GET', path: '/api/remote/status', need: 'viewer', ran: (r) => 'state' in json(r) },
  { method: 'GET', path: '/api/access', need: 'viewer', ran: (r) => 'tokenRequired' in json(r) },
  { method: 'POST', path: '/api/session/logout', need: 'viewer', ran: (r) => 'signedOut' in json(r) && /latchkey/i.test(r.headers.get('set-cookie') ?? '') },
  { method: 'GET', path: '/api/connect', need: 'admin', ran: (r) => 'tokenIncluded' in json(r) },
  {
    method: 'POST',
    path: '/api/apps/notes/pause',
    need: 'admin',
    reset: async () => {
      expect((await asAdmin('/api/apps/notes/resume', 'POST')).status).toBe(200)
      expect(await notesPaused()).toBe(false)
    },
    ran: () => notesPaused(),
  },
]

const fromPeer = (p: () => Peer, headers: Record<string, string> = {}) => (path: string, init: PeerRequest) =>
  p().fetch(`http://${p().hostAddress}:${lk.dashboardPort}${path}`, { ...init, headers: { ...init.headers, ...headers } })
const fromHost = (port: () => number, headers: Record<string, string> = {}) => (path: string, init: PeerRequest) =>
  curlFrom(null, `http://127.0.0.1:${port()}${path}`, { ...init, headers: { ...init.headers, ...headers } })

const CALLERS: CallerRow[] = [
  { name: 'an unknown peer (WhoIs 404)', role: 'none', send: fromPeer(() => peers.unknown) },
  { name: 'a tagged device', role: 'none', send: fromPeer(() => peers.tagged) },
  { name: 'tailnet user 67890 (not in admins)', role: 'viewer', send: fromPeer(() => peers.viewer) },
  { name: 'tailnet user 12345 (in admins)', role: 'admin', send: fromPeer(() => peers.admin) },
  { name: 'the API key from apiKeyFile', role: 'admin', send: fromPeer(() => peers.unknown, { authorization: `Bearer ${FILE_KEY}` }) },
  { name: 'the apiKey that apiKeyFile overrides', role: 'none', send: fromPeer(() => peers.unknown, { authorization: `Bearer ${YAML_KEY}` }) },
  { name: 'a tagged device with the API key', role: 'admin', send: fromPeer(() => peers.tagged, { authorization: `Bearer ${FILE_KEY}` }) },
  { name: 'the local user (admins set, no adminAllowLocalhost)', role: 'none', denied: true, send: fromHost(() => lk.dashboardPort) },
  { name: 'the local user with the API key', role: 'admin', send: fromHost(() => lk.apiPort, { authorization: `Bearer ${FILE_KEY}` }) },
  { name: 'anyone through the Cloudflare ingress', role: 'none', send: fromHost(() => lk.cloudflareIngressPort, { host: 'x.trycloudflare.com' }) },
  { name: 'a serve-header claim on the Tailscale ingress (trust off)', role: 'none', send: fromHost(() => lk.tailscaleIngressPort, { host: 'h.tailnet.ts.net', 'tailscale-user-login': 'alice@example.com', 'x-forwarded-for': '10.213.0.1' }) },
]

function expectedStatus(caller: CallerRow, need: Need): number {
  if (need === 'public') return 200
  if (caller.role === 'none') return caller.denied ? 403 : 401
  if (need === 'admin' && caller.role !== 'admin') return 403
  return 200
}

describe('roles: method × route × caller', () => {
  it('answers every row with the expected status, and runs the handler exactly when allowed', async () => {
    const failures: string[] = []
    for (const caller of CALLERS) {
      for (const route of ROUTES) {
        const init: PeerRequest = route.method === 'POST' ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' } : { method: 'GET' }
        await route.reset?.()
        const res = await caller.send(route.path, init)
        const want = expectedStatus(caller, route.need)
        const ran = await route.ran(res)
        if (res.status !== want || ran !== (want === 200)) {
          failures.push(`${caller.name} ${route.method} ${route.path}: got ${res.status} (handler ran: ${ran}), want ${want} (${res.body.slice(0, 160)})`)
        }
        if (route.path === '/api/whoami' && json(res).role !== caller.role) failures.push(`${caller.name}: whoami role ${json(res).role}, want ${caller.role}`)
      }
    }
    expect(failures).toEqual([])
  })
})

describe('GET /api/whoami', () => {
  it('tells a tailnet user their method, role, ID, login name, display name and avatar', async () => {
    const res = await peers.admin.fetch(`http://${peers.admin.hostAddress}:${lk.apiPort}/api/whoami`)
    expect(res.json()).toMatchObject({
      authenticated: true,
      role: 'admin',
      method: 'tailscale',
      tailscale: { id: '12345', loginName: 'alice@example.com', displayName: 'Alice Admin', avatarUrl: 'https://example.com/alice.png', node: 'alice-phone' },
    })
    expect(api.requests.some((r) => r.path === '/localapi/v0/whois' && r.query.addr?.startsWith(`${peers.admin.peerAddress}:`))).toBe(true)
  })

  it('shows a tagged device no identity', async () => {
    const res = await peers.tagged.fetch(`http://${peers.tagged.hostAddress}:${lk.apiPort}/api/whoami`)
    expect(res.json()).toMatchObject({ authenticated: false, role: 'none', tailscale: null })
  })
})

describe('refusals', () => {
  it('answers a non-admin with the reason, and logs it at warn with their identity and no secret', async () => {
    const res = await peers.viewer.fetch(`http://${peers.viewer.hostAddress}:${lk.apiPort}/api/connect?token=not-the-token-0123456789`)
    expect(res.status).toBe(403)
    expect(res.json()).toEqual({ error: 'forbidden', message: 'access denied: user 67890 is not in admins' })
    const line = (await lk.waitFor(/WARN\s+refused .*path=\/api\/connect .*tailscaleId=67890.*\n/))[0]
    expect(line).toContain('login=bob@example.com')
    expect(line).toContain(`address=${peers.viewer.peerAddress}`)
    const warnings = lk.output().split('\n').filter((l) => /WARN|ERROR/.test(l)).join('\n')
    for (const secret of [FILE_KEY, YAML_KEY, 'not-the-token-0123456789', lk.token ?? 'no-token']) expect(warnings).not.toContain(secret)
  })

  it('tells the local user exactly how to get in', async () => {
    const res = await curlFrom(null, `http://127.0.0.1:${lk.dashboardPort}/api/connect`)
    expect(res.status).toBe(403)
    expect(res.json().message).toStartWith('admin access requires a Tailscale identity or an API key')
    expect(res.json().message).toContain('adminAllowLocalhost: true')
  })

  it('prints the identity setup at start, never the key', () => {
    const out = lk.output()
    expect(out).toMatch(/INFO\s+tailscale identity: WhoIs through the LocalAPI/)
    expect(out).toMatch(/INFO\s+admins configured admins=12345/)
    expect(out).toMatch(/INFO\s+API key configured from=apiKeyFile/)
    expect(out).not.toContain(FILE_KEY)
    expect(out).not.toContain(YAML_KEY)
  })
})

// The guard answers without a promise when WhoIs is cached; while tailscaled is still
// answering, the same decision must wait for it, never let the request through meanwhile.
describe('while WhoIs is slow', () => {
  let slowApi: FakeLocalApi
  let slowLk: Latchkey
  const slowPeers: Record<'viewer' | 'unknown', Peer> = {} as never
  const SLOW_MS = 400

  beforeAll(async () => {
    for (const name of ['viewer', 'unknown'] as const) slowPeers[name] = createPeer()
    slowApi = await startFakeLocalApi({ slowMs: SLOW_MS, peers: { [slowPeers.viewer.peerAddress]: { UserProfile: { ID: 67890, LoginName: 'bob@example.com', DisplayName: 'Bob Viewer' } } } })
    slowApi.setMode('slow')
    slowLk = await startLatchkey({
      args: ['--host', '0.0.0.0', '--tailscale-socket', slowApi.socketPath, '--app', 'notes=http://127.0.0.1:9'],
      yaml: 'admins:\n  - "12345"\n',
    })
  })
  afterAll(async () => {
    await slowLk?.stop()
    await slowApi?.stop()
    for (const p of Object.values(slowPeers)) p?.destroy()
  })

  const timed = async (peer: Peer, path: string, init: PeerRequest = {}) => {
    const t0 = performance.now()
    const res = await peer.fetch(`http://${peer.hostAddress}:${slowLk.apiPort}${path}`, init)
    return { res, ms: performance.now() - t0 }
  }

  it('refuses a viewer an admin action only after WhoIs answers, and the action never runs', async () => {
    const { res, ms } = await timed(slowPeers.viewer, '/api/apps/notes/pause', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(403)
    expect(res.json().message).toBe('access denied: user 67890 is not in admins')
    expect(ms).toBeGreaterThanOrEqual(SLOW_MS - 50)
    const apps = await curlFrom(null, `http://127.0.0.1:${slowLk.apiPort}/api/apps`, { headers: { authorization: `Bearer ${slowLk.token}` } })
    expect(apps.json().apps.find((a: { name: string }) => a.name === 'notes').paused).toBe(false)
  })

  it('refuses an unknown peer with 401 after the wait, and admits the viewer to a viewer route', async () => {
    const unknown = await timed(slowPeers.unknown, '/api/remote/status')
    expect(unknown.res.status).toBe(401)
    expect(unknown.ms).toBeGreaterThanOrEqual(SLOW_MS - 50)
    slowApi.setMode('normal')
    const viewer = await timed(slowPeers.viewer, '/api/remote/status')
    expect(viewer.res.status).toBe(200)
    expect('state' in viewer.res.json()).toBe(true)
  })
})
