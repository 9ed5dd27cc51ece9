/**
 * identify() over real sockets (peer 127.0.0.1), with WhoIs injected as the seam it is:
 * the allowlist by ID, 403 reasons, Funnel and serve headers, and the internal identity
 * rule (per-process secret; forged x-latchkey-* refused).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runtime, type ServerHandle } from '../../../src/runtime/index.ts'
import { recordConnection, type ListenerKind } from '../../../src/guard/connection.ts'
import { identify, type GuardOptions, type TailscaleIdentity } from '../../../src/guard/identify.ts'
import type { WhoisAnswer } from '../../../src/tailscale/whois.ts'
import { refusal } from '../../../src/guard/guard.ts'
import { forwardIdentity, INTERNAL_AUTH_HEADER, INTERNAL_IDENTITY_HEADER } from '../../../src/guard/internal-identity.ts'
import { decodeRfc2047 } from '../../../src/tailscale/serve-headers.ts'
import { SessionStore } from '../../../src/tokens/sessions.ts'

const ACCESS = 'access-token-abcdefghijklmnop'
const API_KEY = 'api-key-abcdefghijklmnopqrstu'
const PEOPLE: Record<string, TailscaleIdentity> = {
  '100.64.0.2': { id: '12345', loginName: 'alice@example.com', displayName: 'Alice', profilePicUrl: '' },
  '100.64.0.3': { id: '67890', loginName: 'bob@example.com', displayName: 'Bob', profilePicUrl: '' },
}
const person = (who: TailscaleIdentity | undefined): WhoisAnswer => (who ? { kind: 'person', identity: who } : { kind: 'unknown' })
const byAddress = async (address: string): Promise<WhoisAnswer> => person(PEOPLE[address])
let dir: string
let options: GuardOptions
let whoisCalls: string[] = []
const servers: Partial<Record<ListenerKind, ServerHandle>> = {}

/** A listener of the given kind whose handler answers with identify()'s verdict. */
async function listener(kind: ListenerKind): Promise<ServerHandle> {
  let port = 0
  const handle = await runtime.serve({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1024,
    idleTimeout: 10,
    async fetch(request, ctx) {
      recordConnection(request, { listener: kind, peer: ctx.peer, localPort: port })
      const caller = await identify(request, { listener: kind, peer: ctx.peer, localPort: port }, options)
      const refused = refusal(caller, 'admin')
      return Response.json({ role: caller.role, via: caller.via, local: caller.local, address: caller.address, failedCredential: caller.failedCredential, reason: caller.reason ?? null, refusedStatus: refused?.status ?? null, refusedMessage: refused?.message ?? null, tailscale: caller.tailscale ?? null })
    },
  })
  port = handle.port
  return handle
}

async function ask(kind: ListenerKind, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${servers[kind]!.port}/api/x`, { headers })
  return (await res.json()) as { role: string; via: string; local: boolean; address: string; failedCredential: boolean; reason: string | null; refusedStatus: number | null; refusedMessage: string | null; tailscale: TailscaleIdentity | null }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lk-identify-'))
  options = {
    insecureNoAuth: false,
    admins: ['12345'],
    adminAllowLocalhost: false,
    trustedProxies: [],
    trustServeHeaders: false,
    apiKey: API_KEY,
    accessToken: () => ACCESS,
    sessions: new SessionStore({ dataDir: dir }),
    // The real peer is 127.0.0.1; a test header names the tailnet address WhoIs would see.
    async whois(address, port) {
      whoisCalls.push(`${address}:${port}`)
      return person(PEOPLE[address])
    },
  }
  for (const kind of ['dashboard', 'api', 'tailscale-ingress', 'cloudflare-ingress'] as const) servers[kind] = await listener(kind)
})
afterAll(async () => {
  for (const s of Object.values(servers)) await s!.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('identify: the local user under an allowlist', () => {
  it('refuses the local user with a 403 that says how to get in, when admins is set', async () => {
    const r = await ask('dashboard', { host: 'localhost' })
    expect(r.role).toBe('none')
    expect(r.refusedStatus).toBe(403)
    expect(r.refusedMessage).toStartWith('admin access requires a Tailscale identity or an API key')
    expect(r.refusedMessage).toContain('adminAllowLocalhost: true')
  })

  it('makes the local user admin with adminAllowLocalhost, and with the API key', async () => {
    options.adminAllowLocalhost = true
    try {
      expect((await ask('dashboard', { host: 'localhost' })).role).toBe('admin')
    } finally {
      options.adminAllowLocalhost = false
    }
    const r = await ask('api', { host: 'localhost', authorization: `Bearer ${API_KEY}` })
    expect(r).toMatchObject({ role: 'admin', via: 'api-key', refusedStatus: null })
  })

  it('never lets adminAllowLocalhost admit a loopback request with a foreign Host (DNS rebinding)', async () => {
    options.adminAllowLocalhost = true
    try {
      const r = await ask('dashboard', { host: 'rebind.attacker.example' })
      expect(r.role).not.toBe('admin')
    } finally {
      options.adminAllowLocalhost = false
    }
  })
})

describe('identify: internal identity forwarding', () => {
  it('believes identity this process forwarded to itself, with its secret', async () => {
    const headers = new Headers({ host: 'localhost', 'x-latchkey-identity': 'client copy', 'x-latchkey-role': 'admin' })
    forwardIdentity(headers, { role: 'viewer', via: 'tailscale', key: 'tailscale:67890', tailscale: PEOPLE['100.64.0.3'] })
    expect(headers.get('x-latchkey-role')).toBeNull() // client copies are stripped first
    const r = await ask('api', Object.fromEntries(headers))
    expect(r).toMatchObject({ role: 'viewer', via: 'internal' })
    expect(r.tailscale?.id).toBe('67890')
  })

  it.each([
    ['a forged identity with no secret', { [INTERNAL_IDENTITY_HEADER]: Buffer.from(JSON.stringify({ role: 'admin', via: 'x', key: 'x' })).toString('base64url') }],
    ['a guessed secret', { [INTERNAL_AUTH_HEADER]: 'guess', [INTERNAL_IDENTITY_HEADER]: 'e30' }],
    ['an empty secret', { [INTERNAL_AUTH_HEADER]: '', [INTERNAL_IDENTITY_HEADER]: 'e30' }],
    ['any other x-latchkey-* header', { 'x-latchkey-user': '12345' }],
  ])('refuses %s with 403, even alongside a valid token', async (_name, extra) => {
    for (const kind of ['dashboard', 'api', 'tailscale-ingress', 'cloudflare-ingress'] as const) {
      const r = await ask(kind, { host: 'localhost', authorization: `Bearer ${ACCESS}`, ...(extra as Record<string, string>) })
      expect(r.role).toBe('none')
      expect(r.refusedStatus).toBe(403)
      expect(r.refusedMessage).toContain('forged internal identity header')
    }
  })

  it('refuses real forwarded identity that arrives on a tunnel ingress', async () => {
    const headers = new Headers({ host: 'localhost' })
    forwardIdentity(headers, { role: 'admin', via: 'api-key', key: 'api-key' })
    for (const kind of ['tailscale-ingress', 'cloudflare-ingress'] as const) {
      expect((await ask(kind, Object.fromEntries(headers))).refusedStatus).toBe(403)
    }
  })
})

describe('identify: Tailscale identity', () => {
  it('says which user is not in admins', async () => {
    // A non-local Host makes the loopback peer "remote", so WhoIs is asked about it.
    options.whois = async () => person(PEOPLE['100.64.0.3'])
    try {
      const r = await ask('dashboard', { host: 'latchkey.tailnet.ts.net' })
      expect(r).toMatchObject({ role: 'viewer', via: 'tailscale', refusedStatus: 403, refusedMessage: 'access denied: user 67890 is not in admins' })
      options.whois = async () => person(PEOPLE['100.64.0.2'])
      expect(await ask('dashboard', { host: 'latchkey.tailnet.ts.net' })).toMatchObject({ role: 'admin', via: 'tailscale', refusedStatus: null })
    } finally {
      options.whois = byAddress
    }
  })

  it('never asks WhoIs about a Funnel request, and never on a tunnel ingress for the TCP peer', async () => {
    whoisCalls = []
    options.whois = async () => person(PEOPLE['100.64.0.2'])
    try {
      expect((await ask('dashboard', { host: 'x.ts.net', 'tailscale-funnel-request': '?1' })).role).toBe('none')
      expect((await ask('tailscale-ingress', { host: 'x.ts.net' })).role).toBe('none')
      expect((await ask('cloudflare-ingress', { host: 'x.ts.net' })).role).toBe('none')
    } finally {
      options.whois = byAddress
    }
  })

  it('ignores serve identity headers unless trustServeHeaders is on, and then only on the Tailscale ingress', async () => {
    const serve = { host: 'latchkey.tailnet.ts.net', 'tailscale-user-login': 'alice@example.com', 'tailscale-user-name': 'Alice', 'x-forwarded-for': '100.64.0.2' }
    expect((await ask('tailscale-ingress', serve)).role).toBe('none')
    options.trustServeHeaders = true
    try {
      expect((await ask('tailscale-ingress', serve)).role).toBe('admin') // login matched to ID 12345 by WhoIs of the XFF address
      expect((await ask('cloudflare-ingress', serve)).role).toBe('none')
      expect((await ask('api', serve)).role).toBe('none')
      // A login WhoIs does not confirm is a viewer at most.
      const forged = await ask('tailscale-ingress', { ...serve, 'x-forwarded-for': '100.64.0.3' })
      expect(forged).toMatchObject({ role: 'viewer', via: 'tailscale-serve', refusedStatus: 403 })
      // Funnel: no identity, whatever else the request says.
      expect((await ask('tailscale-ingress', { ...serve, 'tailscale-funnel-request': '?1' })).role).toBe('none')
    } finally {
      options.trustServeHeaders = false
    }
  })

  it('decodes RFC 2047 Q-encoded serve header values', () => {
    expect(decodeRfc2047('=?utf-8?q?Ren=C3=A9e_M=C3=BCller?=')).toBe('Renée Müller')
    expect(decodeRfc2047('plain@example.com')).toBe('plain@example.com')
  })
})

describe('identify: an empty allowlist', () => {
  it('opens nothing: anonymous remote callers have no role, tailnet users are viewers', async () => {
    options.admins = []
    try {
      expect((await ask('cloudflare-ingress', { host: 'x.example' })).refusedStatus).toBe(401)
      expect((await ask('tailscale-ingress', { host: 'x.example' })).refusedStatus).toBe(401)
      options.whois = async () => person(PEOPLE['100.64.0.2'])
      const r = await ask('dashboard', { host: 'latchkey.tailnet.ts.net' })
      expect(r).toMatchObject({ role: 'viewer', refusedStatus: 403 })
      expect(r.refusedMessage).toContain('access denied: user 12345 is not in admins')
    } finally {
      options.admins = ['12345']
      options.whois = byAddress
    }
  })
})

describe('identify: loopback peers that userspace tailscaled relayed', () => {
  const relayed = (answer: WhoisAnswer) => async (address: string, port: number): Promise<WhoisAnswer> => {
    whoisCalls.push(`${address}:${port}`)
    return address === '127.0.0.1' ? answer : { kind: 'unknown' }
  }

  it('asks WhoIs about the exact 127.0.0.1:port, and makes a peer it names that tailnet user, never the local user', async () => {
    options.admins = []
    whoisCalls = []
    options.whois = relayed(person(PEOPLE['100.64.0.3']))
    try {
      const r = await ask('dashboard', { host: 'localhost' })
      expect(r).toMatchObject({ role: 'viewer', via: 'tailscale', local: false, refusedStatus: 403 })
      expect(r.tailscale?.id).toBe('67890')
      expect(whoisCalls.length).toBe(1)
      expect(whoisCalls[0]).toMatch(/^127\.0\.0\.1:[1-9]\d*$/)
      expect((await ask('api', { host: `127.0.0.1:${servers.api!.port}` })).local).toBe(false)
    } finally {
      options.admins = ['12345']
      options.whois = byAddress
    }
  })

  it('gives a relayed tagged device no identity and no loopback exemption', async () => {
    options.admins = []
    options.whois = relayed({ kind: 'tagged' })
    try {
      const r = await ask('dashboard', { host: 'localhost' })
      expect(r).toMatchObject({ role: 'none', local: false, refusedStatus: 401 })
      expect(r.reason).toContain('tagged Tailscale device')
    } finally {
      options.admins = ['12345']
      options.whois = byAddress
    }
  })

  it('refuses the exemption, saying why, when WhoIs fails; grants it when WhoIs knows no such connection', async () => {
    options.admins = []
    options.whois = relayed({ kind: 'failed', why: 'Tailscale LocalAPI did not answer within 1000 ms' })
    try {
      const r = await ask('dashboard', { host: 'localhost' })
      expect(r).toMatchObject({ role: 'none', local: false, refusedStatus: 401 })
      expect(r.refusedMessage).toContain('Tailscale could not confirm')
      options.whois = relayed({ kind: 'unknown' })
      expect(await ask('dashboard', { host: 'localhost' })).toMatchObject({ role: 'admin', via: 'loopback', local: true })
    } finally {
      options.admins = ['12345']
      options.whois = byAddress
    }
  })
})

describe('identify: trusted proxies', () => {
  const through = async (headers: Record<string, string>) => {
    options.trustedProxies = ['127.0.0.1', '10.0.0.9']
    options.admins = []
    try {
      return await ask('dashboard', { host: 'localhost', ...headers })
    } finally {
      options.trustedProxies = []
      options.admins = ['12345']
    }
  }

  it.each([
    ['X-Forwarded-For naming loopback', { 'x-forwarded-for': '127.0.0.1' }],
    ['X-Forwarded-For with a client and then loopback', { 'x-forwarded-for': '203.0.113.7, 127.0.0.1' }],
    ['Forwarded: for=127.0.0.1', { forwarded: 'for=127.0.0.1;proto=http' }],
    ['X-Real-IP only (names no client)', { 'x-real-ip': '127.0.0.1' }],
    ['no client header at all', {}],
    ['Tailscale-Funnel-Request', { 'tailscale-funnel-request': '?1', 'x-forwarded-for': '127.0.0.1' }],
    ['Tailscale-User-Login', { 'tailscale-user-login': 'alice@example.com', 'x-forwarded-for': '127.0.0.1' }],
  ])('never makes a request through a trusted proxy the local user: %s', async (_name, headers) => {
    const r = await through(headers as Record<string, string>)
    expect(r).toMatchObject({ role: 'none', local: false, refusedStatus: 401 })
  })

  it('takes the right-most address that is not a trusted proxy as the client', async () => {
    expect((await through({ 'x-forwarded-for': '127.0.0.1, 198.51.100.7' })).address).toBe('198.51.100.7')
    expect((await through({ 'x-forwarded-for': '198.51.100.7, 203.0.113.7, 10.0.0.9' })).address).toBe('203.0.113.7')
    expect((await through({ forwarded: 'for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"' })).address).toBe('2001:db8:cafe::17')
    expect((await through({ forwarded: 'For="_gazonk"' })).address).toBe('unknown')
    expect((await through({ 'x-real-ip': '198.51.100.7' })).address).toBe('127.0.0.1')
  })
})

describe('identify: the loopback exemption and proxies', () => {
  it.each(['via', 'x-client-ip', 'cf-ray', 'true-client-ip'])('ends the exemption for a loopback request with %s', async (name) => {
    options.admins = []
    try {
      expect(await ask('dashboard', { host: 'localhost', [name]: '1.1 proxy.example' })).toMatchObject({ role: 'none', local: false })
    } finally {
      options.admins = ['12345']
    }
  })
})

describe('identify: latchkey credentials are latchkey\'s alone', () => {
  const remote = { host: 'box.example' }
  const session = () => options.sessions.create({ role: 'viewer', issuer: 'test', userAgent: '', maxAgeMs: 60_000, durable: false, address: '203.0.113.1' }).secret

  it('counts a wrong Bearer or ?token= as a guess only when nothing else admits the request', async () => {
    expect((await ask('cloudflare-ingress', { ...remote, authorization: 'Bearer wrong-guess' })).failedCredential).toBe(true)
    const cookie = `latchkey_session=${session()}`
    const r = await ask('cloudflare-ingress', { ...remote, cookie, authorization: 'Bearer an-apps-own-token' })
    expect(r).toMatchObject({ role: 'viewer', via: 'session', failedCredential: false })
    const q = await fetch(`http://127.0.0.1:${servers['cloudflare-ingress']!.port}/x?token=an-apps-own-token`, { headers: { ...remote, cookie } })
    expect(await q.json()).toMatchObject({ role: 'viewer', failedCredential: false })
    const anon = await fetch(`http://127.0.0.1:${servers['cloudflare-ingress']!.port}/x?token=wrong-guess`, { headers: remote })
    expect(await anon.json()).toMatchObject({ role: 'none', failedCredential: true })
  })

  it.each(['Basic dXNlcjpwYXNz', 'token 0123456789abcdef', 'Digest username="x"'])('never takes Authorization: %s for a latchkey credential', async (auth) => {
    expect(await ask('cloudflare-ingress', { ...remote, authorization: auth })).toMatchObject({ role: 'none', failedCredential: false })
  })

  it('admits latchkey\'s token in the query beside an app\'s Bearer', async () => {
    const res = await fetch(`http://127.0.0.1:${servers['cloudflare-ingress']!.port}/x?token=${ACCESS}`, { headers: { ...remote, authorization: 'Bearer an-apps-own-token' } })
    expect(await res.json()).toMatchObject({ role: 'admin', via: 'access-token', failedCredential: false })
  })
})
