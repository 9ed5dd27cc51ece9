/**
 * Tailscale in userspace-networking mode (the Docker image's default TS_USERSPACE=true,
 * Synology, `tailscaled --tun=userspace-networking`) re-dials every tailnet connection to the
 * local service from 127.0.0.1, and LocalAPI WhoIs of that exact `127.0.0.1:<port>` answers
 * for the tailnet peer (facts §4.2, netstack's ProxyMapper). Such a request is that tailnet
 * peer, never the local user, whatever its Host header says (DESIGN.md, "One guard"; STYLE.md
 * 11, "loopback that WhoIs knows (userspace tailscaled) → that tailnet peer").
 *
 * The rule while Tailscale identity is on: a loopback peer on a direct listener is looked up
 * by its exact ip:port. 200 for a person → that person (admin if in `admins`, else viewer);
 * 200 for a tagged node → not local, no identity (401); 404 or no socket → the local user;
 * any other failure (timeout, 403) → cannot confirm: not local, a credential is needed (401),
 * and the refusal says Tailscale is why.
 *
 * A verdict holds for one connection: the kernel reuses a 127.0.0.1 source port for the next
 * connection to another listener, so neither "local" nor a tailnet identity may carry over.
 *
 * A network-namespace peer connects to a userspace forwarder on the veth host address; the
 * forwarder dials latchkey on 127.0.0.1 and registers the mapping in the fake LocalAPI, as
 * tailscaled does. Every row checks the status and whether the handler ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createPeer, curlFrom, type Peer, type PeerRequest, type PeerResponse } from '../../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { startFakeLocalApi, type FakeLocalApi } from '../../fakes/localapi.ts'
import { startUserspaceForwarder, type UserspaceForwarder } from '../../fakes/userspace-forwarder.ts'

const API_KEY = 'userspace-key-0123456789abcdefghij'
const TAILNET = {
  alice: { ip: '100.64.0.2', id: '12345' },
  bob: { ip: '100.64.0.3', id: '67890' },
  tagged: { ip: '100.64.0.4', id: null },
} as const
type Who = keyof typeof TAILNET
type Role = 'admin' | 'viewer' | 'none'
type Listener = 'dashboard' | 'api'

interface Setup {
  name: string
  yaml: string
  /** The role each impersonated tailnet peer must get. */
  roles: Record<Who, Role>
  /** What the plain local user (a direct curl from 127.0.0.1) gets. */
  local: { role: Role; denied?: boolean }
  lk?: Latchkey
}

const SETUPS: Setup[] = [
  {
    // The setup where the hole gives admin: loopback is admin, and so was every tailnet peer.
    name: 'admins with adminAllowLocalhost: true',
    yaml: `admins:\n  - "12345"  # alice\nadminAllowLocalhost: true\napiKey: "${API_KEY}"\n`,
    roles: { alice: 'admin', bob: 'viewer', tagged: 'none' },
    local: { role: 'admin' },
  },
  {
    // One operator, no allowlist: loopback is admin by default, tailnet people are viewers.
    name: 'no admins list',
    yaml: `apiKey: "${API_KEY}"\n`,
    roles: { alice: 'viewer', bob: 'viewer', tagged: 'none' },
    local: { role: 'admin' },
  },
  {
    // Loopback is refused (403, with the way in); a tailnet admin must still be an admin.
    name: 'admins without adminAllowLocalhost',
    yaml: `admins:\n  - "12345"  # alice\napiKey: "${API_KEY}"\n`,
    roles: { alice: 'admin', bob: 'viewer', tagged: 'none' },
    local: { role: 'none', denied: true },
  },
]

let api: FakeLocalApi
let peer: Peer
const forwarders = new Map<string, UserspaceForwarder>()

beforeAll(async () => {
  peer = createPeer()
  api = await startFakeLocalApi({
    peers: {
      [TAILNET.alice.ip]: { UserProfile: { ID: 12345, LoginName: 'alice@example.com', DisplayName: 'Alice Admin' }, HostName: 'alice-phone' },
      [TAILNET.bob.ip]: { UserProfile: { ID: 67890, LoginName: 'bob@example.com', DisplayName: 'Bob Viewer' }, HostName: 'bob-laptop' },
      [TAILNET.tagged.ip]: { Tags: ['tag:server'], HostName: 'build' },
    },
    // Longer than latchkey's 1 s LocalAPI deadline, short enough not to hold the run up.
    slowMs: 1500,
  })
  await Promise.all(SETUPS.map(async (s) => {
    s.lk = await startLatchkey({ args: ['--tailscale-socket', api.socketPath], yaml: s.yaml })
  }))
})
afterAll(async () => {
  for (const f of forwarders.values()) await f.stop()
  await Promise.all(SETUPS.map((s) => s.lk?.stop()))
  await api?.stop()
  peer?.destroy()
})

const portOf = (lk: Latchkey, listener: Listener) => (listener === 'api' ? lk.apiPort : lk.dashboardPort)

/** A forwarder on the veth host address that re-dials `listener` from 127.0.0.1 as `who`. */
async function forwarderFor(s: Setup, listener: Listener, who: Who): Promise<UserspaceForwarder> {
  const key = `${s.name}/${listener}/${who}`
  let fwd = forwarders.get(key)
  if (!fwd) {
    fwd = await startUserspaceForwarder({ listenHost: peer.hostAddress, targetPort: portOf(s.lk!, listener), localApi: api, peerFor: TAILNET[who].ip })
    forwarders.set(key, fwd)
  }
  return fwd
}

/** A request from the namespace peer through the forwarder. */
async function viaTailnet(s: Setup, listener: Listener, who: Who, path: string, init: PeerRequest = {}) {
  const fwd = await forwarderFor(s, listener, who)
  return { res: await peer.fetch(`http://${peer.hostAddress}:${fwd.port}${path}`, init) }
}

/** A request from the local user: curl on this host, straight to latchkey. */
const fromLocal = (s: Setup, listener: Listener, path: string, init: PeerRequest = {}) =>
  curlFrom(null, `http://127.0.0.1:${portOf(s.lk!, listener)}${path}`, init)

const json = (res: PeerResponse): any => {
  try {
    return res.json()
  } catch {
    return {}
  }
}
const settingsOf = (lk: Latchkey) => {
  const path = join(lk.dataDir, 'settings.json')
  return existsSync(path) ? readFileSync(path, 'utf8') : ''
}
/** A body curl printed `\n<local port>` after (`-w '\n%{local_port}'`): the body and the port. */
const splitLocalPort = (res: PeerResponse): [string, number] => {
  const at = res.body.lastIndexOf('\n')
  return [res.body.slice(0, at), Number(res.body.slice(at + 1))]
}
/**
 * One local request over a raw socket from `localPort` with `Connection: close`. latchkey
 * closes first, so this end keeps no TIME_WAIT and the port is free again at once.
 */
function localOnce(port: number, path: string, localPort: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    let raw = ''
    const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', localPort }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`)
    })
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer from 127.0.0.1:${port}${path}`)))
    socket.on('data', (d) => (raw += d.toString('utf8')))
    socket.on('error', reject)
    socket.on('close', () => {
      const body = raw.slice(raw.indexOf('\r\n\r\n') + 4)
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), body: JSON.parse(body || '{}') })
    })
  })
}
/**
 * A source port below Linux's ephemeral range (32768-60999), so no earlier connection of
 * this run still holds it and both connections of a port-reuse test can bind it.
 */
const freshSourcePort = () => 20000 + Math.floor(Math.random() * 12000)
const POST_JSON: PeerRequest = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }

/** Admin-only routes, each with what only its handler gives. */
const ADMIN_ROUTES: { name: string; init: PeerRequest; path: string; ran(res: PeerResponse, before: string, lk: Latchkey): boolean }[] = [
  { name: 'GET /api/connect', path: '/api/connect', init: {}, ran: (r) => 'tokenIncluded' in json(r) },
  { name: 'GET /api/remote/sessions', path: '/api/remote/sessions', init: {}, ran: (r) => Array.isArray(json(r).sessions) },
  {
    name: 'POST /api/remote/token/persistent/regenerate',
    path: '/api/remote/token/persistent/regenerate',
    init: POST_JSON,
    ran: (r, before, lk) => 'revokedSessions' in json(r) || settingsOf(lk) !== before,
  },
]

const statusFor = (role: Role, denied = false) => (role === 'admin' ? 200 : role === 'viewer' || denied ? 403 : 401)

/** Every check of one impersonated peer on one listener with one Host header; the failures, in words. */
async function tailnetRow(s: Setup, listener: Listener, who: Who, host: string): Promise<string[]> {
  const failures: string[] = []
  const row = `${who} via ${listener} with Host: ${host}`
  const send = (path: string, init: PeerRequest = {}) => viaTailnet(s, listener, who, path, { ...init, headers: { ...init.headers, host } })
  const role = s.roles[who]
  const person = TAILNET[who].id
  const wantStatus = statusFor(role)
  const check = (route: (typeof ADMIN_ROUTES)[number], res: PeerResponse, ran: boolean) => {
    if (res.status !== wantStatus || ran !== (wantStatus === 200)) {
      failures.push(`${row}: ${route.name} ${res.status} (handler ran: ${ran}), want ${wantStatus}: ${res.body.slice(0, 140)}`)
    } else if (role === 'viewer' && !json(res).message?.includes(`user ${person} is not in admins`)) {
      failures.push(`${row}: ${route.name} refused without naming user ${person}: ${res.body.slice(0, 140)}`)
    }
  }

  // The reads at once; the state change on its own, so "nothing changed" means this request.
  const [reads, whoami] = await Promise.all([
    Promise.all(ADMIN_ROUTES.filter((r) => r.init.method !== 'POST').map(async (route) => ({ route, res: (await send(route.path, route.init)).res }))),
    send('/api/whoami'),
  ])
  for (const { route, res } of reads) check(route, res, route.ran(res, '', s.lk!))
  for (const route of ADMIN_ROUTES.filter((r) => r.init.method === 'POST')) {
    const before = settingsOf(s.lk!)
    const { res } = await send(route.path, route.init)
    check(route, res, route.ran(res, before, s.lk!))
  }

  const w = json(whoami.res)
  // A person is named by WhoIs (method tailscale); a tagged node is nobody (no Tailscale identity).
  const got = { status: whoami.res.status, local: w.local, role: w.role, viaTailscale: w.method === 'tailscale', id: w.tailscale?.id ?? null }
  const want = { status: 200, local: false, role, viaTailscale: person !== null, id: person }
  if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${row}: whoami ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
  return failures
}

for (const s of SETUPS) {
  describe(`userspace tailscaled, ${s.name}`, () => {
    for (const listener of ['dashboard', 'api'] as const) {
      for (const who of ['alice', 'bob', 'tagged'] as const) {
        const role = s.roles[who]
        const what = role === 'none' ? 'a tagged node: not local, no identity (401)' : `${who} (${TAILNET[who].id}): ${role === 'admin' ? 'an admin' : 'a viewer'}, not the local user`
        it(`treats a connection WhoIs maps to ${what}, on the ${listener} listener, whatever the Host`, async () => {
          const fwd = await forwarderFor(s, listener, who)
          const seen = fwd.history.length
          const hosts = [`localhost:${portOf(s.lk!, listener)}`, `127.0.0.1:${portOf(s.lk!, listener)}`]
          const failures = (await Promise.all(hosts.map((host) => tailnetRow(s, listener, who, host)))).flat()
          // Each forwarded connection was looked up by its exact 127.0.0.1:port.
          const asked = new Set(api.requests.filter((r) => r.path === '/localapi/v0/whois').map((r) => r.query.addr))
          for (const c of fwd.history.slice(seen)) if (!asked.has(c.addr)) failures.push(`latchkey never asked WhoIs for the forwarded connection ${c.addr}`)
          expect(fwd.history.length - seen).toBe(8)
          expect(failures).toEqual([])
        })
      }
    }

    it('names the tailnet peer for a forwarded request with a tailnet Host (not a local one)', async () => {
      const { res } = await viaTailnet(s, 'dashboard', 'alice', '/api/whoami', { headers: { host: `100.100.1.1:${s.lk!.dashboardPort}` } })
      expect(json(res)).toMatchObject({ local: false, role: s.roles.alice, method: 'tailscale', tailscale: { id: '12345', node: 'alice-phone' } })
    })

    it('admits a tagged node that presents the API key (401 meant "send a credential")', async () => {
      const { res } = await viaTailnet(s, 'api', 'tagged', '/api/connect', { headers: { host: `localhost:${s.lk!.apiPort}`, authorization: `Bearer ${API_KEY}` } })
      expect([res.status, 'tokenIncluded' in json(res)]).toEqual([200, true])
    })

    it('still treats a plain local curl as the local user on both listeners (WhoIs: 404 for its port)', async () => {
      const failures: string[] = []
      for (const listener of ['dashboard', 'api'] as const) {
        for (const host of [undefined, `localhost:${portOf(s.lk!, listener)}`]) {
          const init = host ? { headers: { host } } : {}
          const who = json(await fromLocal(s, listener, '/api/whoami', init))
          if (who.local !== true || who.role !== s.local.role || who.tailscale !== null) failures.push(`${listener} ${host ?? 'default Host'}: whoami ${JSON.stringify(who)}`)
          const res = await fromLocal(s, listener, '/api/connect', init)
          const ran = 'tokenIncluded' in json(res)
          const want = statusFor(s.local.role, s.local.denied)
          if (res.status !== want || ran !== (want === 200)) failures.push(`${listener} ${host ?? 'default Host'}: /api/connect ${res.status} (ran: ${ran}), want ${want}`)
        }
      }
      expect(failures).toEqual([])
    })

    it('asks WhoIs for the local user\'s exact 127.0.0.1:port (404) before calling it local', async () => {
      const seen = api.requests.length
      // curl prints its source port after the body.
      const [body, port] = splitLocalPort(await fromLocal(s, 'api', '/api/whoami', { curlArgs: ['-w', '\\n%{local_port}'] }))
      expect(JSON.parse(body).local).toBe(true)
      const asked = api.requests.slice(seen).filter((r) => r.path === '/localapi/v0/whois').map((r) => r.query.addr)
      expect(asked).toContain(`127.0.0.1:${port}`)
    })

    // Linux hands a just-used 127.0.0.1 source port to the next connection to another
    // destination (latchkey has two listeners), so a verdict about 127.0.0.1:<port> is
    // good for that one connection only: a cached one would pass to a stranger.
    it('gives a tailnet connection that reuses a local connection\'s 127.0.0.1 port its own identity', async () => {
      const port = freshSourcePort()
      const local = await localOnce(s.lk!.dashboardPort, '/api/whoami', port)
      expect(local.body.local).toBe(true)
      const fwd = await startUserspaceForwarder({ listenHost: peer.hostAddress, targetPort: s.lk!.apiPort, localApi: api, peerFor: TAILNET.bob.ip, sourcePort: port })
      try {
        const res = await peer.fetch(`http://${peer.hostAddress}:${fwd.port}/api/remote/sessions`, { headers: { host: `localhost:${s.lk!.apiPort}` } })
        expect(fwd.history.map((c) => c.addr)).toEqual([`127.0.0.1:${port}`])
        expect([res.status, Array.isArray(json(res).sessions), json(res).message]).toEqual([403, false, expect.stringContaining('user 67890 is not in admins')])
      } finally {
        await fwd.stop()
      }
    })

    it('gives a local connection that reuses a closed tailnet connection\'s 127.0.0.1 port no tailnet identity', async () => {
      const port = freshSourcePort()
      const fwd = await startUserspaceForwarder({ listenHost: peer.hostAddress, targetPort: s.lk!.dashboardPort, localApi: api, peerFor: TAILNET.alice.ip, sourcePort: port })
      try {
        await peer.fetch(`http://${peer.hostAddress}:${fwd.port}/api/whoami`, { headers: { host: `localhost:${s.lk!.dashboardPort}` } })
        expect(fwd.history.map((c) => c.addr)).toEqual([`127.0.0.1:${port}`])
        for (let i = 0; fwd.active() > 0 || api.connections.size > 0; i++) {
          if (i > 100) throw new Error('the forwarded connection did not close')
          await Bun.sleep(10)
        }
        const local = await localOnce(s.lk!.apiPort, '/api/whoami', port)
        expect(local.body).toMatchObject({ local: true, role: s.local.role, tailscale: null })
      } finally {
        await fwd.stop()
      }
    })

    for (const mode of ['slow', 'deny-whois'] as const) {
      const why = mode === 'slow' ? 'WhoIs times out (slower than the 1 s deadline)' : 'WhoIs is refused (403 whois access denied)'
      it(`does not call loopback local when ${why}: 401, saying Tailscale is why`, async () => {
        // The reason must be about Tailscale, and not the one the local user gets anyway.
        const usual: string | null = json(await fromLocal(s, 'api', '/api/whoami')).reason
        const explains = (text: string | undefined) => /tailscale/i.test(text ?? '') && !(usual && text?.endsWith(usual))
        api.setMode(mode)
        try {
          // In parallel: each lookup waits out the deadline.
          const rows = await Promise.all((['dashboard', 'api'] as const).flatMap((listener) => [
            fromLocal(s, listener, '/api/whoami').then((r) => {
              const w = json(r)
              return { listener, path: 'whoami', local: w.local, role: w.role, why: explains(w.reason) }
            }),
            fromLocal(s, listener, '/api/connect').then((r) => ({ listener, path: 'connect', status: r.status, ran: 'tokenIncluded' in json(r), why: explains(json(r).message) })),
            fromLocal(s, listener, '/api/connect', { headers: { authorization: `Bearer ${API_KEY}` } }).then((r) => ({ listener, path: 'connect with the API key', status: r.status, ran: 'tokenIncluded' in json(r) })),
          ]))
          expect(rows).toEqual((['dashboard', 'api'] as const).flatMap((listener) => [
            { listener, path: 'whoami', local: false, role: 'none', why: true },
            { listener, path: 'connect', status: 401, ran: false, why: true },
            { listener, path: 'connect with the API key', status: 200, ran: true },
          ]))
        } finally {
          api.setMode('normal')
        }
      })
    }

    it('keeps loopback local when tailscaled is not running (no socket)', async () => {
      api.setMode('down')
      try {
        const rows = await Promise.all((['dashboard', 'api'] as const).map(async (listener) => {
          const who = json(await fromLocal(s, listener, '/api/whoami'))
          const res = await fromLocal(s, listener, '/api/connect')
          return { listener, local: who.local, role: who.role, status: res.status, ran: 'tokenIncluded' in json(res) }
        }))
        const want = statusFor(s.local.role, s.local.denied)
        expect(rows).toEqual((['dashboard', 'api'] as const).map((listener) => ({ listener, local: true, role: s.local.role, status: want, ran: want === 200 })))
      } finally {
        api.setMode('normal')
      }
    })

    // The socket is missing while tailscaled restarts: then it relays nothing, but the first
    // connection it relays once back must be looked up, not taken for local from memory.
    it('looks up a connection tailscaled relays right after it comes back (no remembered "not running")', async () => {
      api.setMode('down')
      try {
        expect(json(await fromLocal(s, 'api', '/api/whoami')).local).toBe(true)
      } finally {
        api.setMode('normal')
      }
      const { res } = await viaTailnet(s, 'api', 'bob', '/api/remote/sessions', { headers: { host: `localhost:${s.lk!.apiPort}` } })
      expect([res.status, Array.isArray(json(res).sessions), json(res).message]).toEqual([403, false, expect.stringContaining('user 67890 is not in admins')])
    })
  })
}
