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
      return Response.json({ role: caller.role, via: caller.via, reason: caller.reason ?? null, refusedStatus: refused?.status ?? null, refusedMessage: refused?.message ?? null, tailscale: caller.tailscale ?? null })
    },
  })
  port = handle.port
  return handle
}

async function ask(kind: ListenerKind, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${servers[kind]!.port}/api/x`, { headers })
  return (await res.json()) as { role: string; via: string; reason: string | null; refusedStatus: number | null; refusedMessage: string | null; tailscale: TailscaleIdentity | null }
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
      return PEOPLE[address] ?? null
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
    options.whois = async () => PEOPLE['100.64.0.3']
    try {
      const r = await ask('dashboard', { host: 'latchkey.tailnet.ts.net' })
      expect(r).toMatchObject({ role: 'viewer', via: 'tailscale', refusedStatus: 403, refusedMessage: 'access denied: user 67890 is not in admins' })
      options.whois = async () => PEOPLE['100.64.0.2']
      expect(await ask('dashboard', { host: 'latchkey.tailnet.ts.net' })).toMatchObject({ role: 'admin', via: 'tailscale', refusedStatus: null })
    } finally {
      options.whois = async (address) => PEOPLE[address] ?? null
    }
  })

  it('never asks WhoIs about a Funnel request, and never on a tunnel ingress for the TCP peer', async () => {
    whoisCalls = []
    options.whois = async () => PEOPLE['100.64.0.2']
    try {
      expect((await ask('dashboard', { host: 'x.ts.net', 'tailscale-funnel-request': '?1' })).role).toBe('none')
      expect((await ask('tailscale-ingress', { host: 'x.ts.net' })).role).toBe('none')
      expect((await ask('cloudflare-ingress', { host: 'x.ts.net' })).role).toBe('none')
    } finally {
      options.whois = async (address) => PEOPLE[address] ?? null
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
      options.whois = async () => PEOPLE['100.64.0.2']
      const r = await ask('dashboard', { host: 'latchkey.tailnet.ts.net' })
      expect(r).toMatchObject({ role: 'viewer', refusedStatus: 403 })
      expect(r.refusedMessage).toContain('access denied: user 12345 is not in admins')
    } finally {
      options.admins = ['12345']
      options.whois = async (address) => PEOPLE[address] ?? null
    }
  })
})
