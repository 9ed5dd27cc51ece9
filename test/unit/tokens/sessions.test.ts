/** SessionStore: the bounds on signed-in devices, and the address kept on each session. */
import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SessionStore, type NewSession } from '../../../src/tokens/sessions.ts'
import { MAX_SESSIONS, MAX_SESSIONS_PER_ADDRESS, MAX_SESSIONS_PER_ISSUER } from '../../../src/tokens/session-bounds.ts'
import { describeSession } from '../../../src/api/remote-tokens.ts'
import { ApiError } from '../../../src/errors.ts'

let dir: string
let clock: number
let store: SessionStore

/** A distinct IPv4 address per index (10.x.y.z). */
const addressOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

function spec(over: Partial<NewSession> = {}): NewSession {
  return { role: 'viewer', issuer: 'short-lived:link', userAgent: 'phone', maxAgeMs: 3600_000, durable: false, address: '192.0.2.1', ...over }
}

/** `n` sessions that hit no per-link or per-address bound: 100 per issuer, one per address. */
function fill(n: number, role: 'admin' | 'viewer', first = 0): { secret: string; id: string }[] {
  const out: { secret: string; id: string }[] = []
  for (let i = first; i < first + n; i++) {
    const { secret, session } = store.create(spec({ role, issuer: `short-lived:${role}-${Math.floor(i / MAX_SESSIONS_PER_ISSUER)}`, address: addressOf(i) }))
    out.push({ secret, id: session.id })
    clock += 1
  }
  return out
}

function refusalOf(f: () => unknown): ApiError {
  try {
    f()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected the sign-in to be refused')
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lk-sessions-'))
  clock = 1_700_000_000_000
  store = new SessionStore({ dataDir: dir, now: () => clock })
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('SessionStore per-link bound', () => {
  it("signs out only that link's least recently seen device when one link signs in one too many", () => {
    const admin = store.create(spec({ role: 'admin', issuer: 'access-token:1a2b3c4d', address: '198.51.100.7' }))
    const otherLink = store.create(spec({ issuer: 'short-lived:other', address: '198.51.100.8' }))
    clock += 1
    const link = []
    for (let i = 0; i < MAX_SESSIONS_PER_ISSUER; i++, clock++) link.push(store.create(spec({ address: addressOf(i) })))
    // The link's first device is used again, so its second one is now the least recently seen.
    expect(store.lookup(link[0].secret)).not.toBeNull()
    clock += 1
    const extra = store.create(spec({ address: addressOf(1000) }))
    expect(store.lookup(link[1].secret)).toBeNull()
    expect(store.lookup(link[0].secret)).not.toBeNull()
    expect(store.lookup(extra.secret)).not.toBeNull()
    expect(store.list().filter((s) => s.issuer === 'short-lived:link')).toHaveLength(MAX_SESSIONS_PER_ISSUER)
    // Holders of other credentials are not touched, however old their sessions.
    expect(store.lookup(admin.secret)).not.toBeNull()
    expect(store.lookup(otherLink.secret)).not.toBeNull()
  })
})

describe('SessionStore per-address bound', () => {
  it('refuses one device too many from an address with 429 too_many_devices and signs nobody out', () => {
    const devices = []
    for (let i = 0; i < MAX_SESSIONS_PER_ADDRESS; i++) devices.push(store.create(spec({ issuer: `short-lived:link-${i % 3}`, address: '203.0.113.5' })))
    const err = refusalOf(() => store.create(spec({ address: '203.0.113.5' })))
    expect(err.status).toBe(429)
    expect(err.code).toBe('too_many_devices')
    expect(err.message).toBe(
      `Cannot sign in another device from this address: ${MAX_SESSIONS_PER_ADDRESS} devices are signed in from it; sign one out from Devices on the dashboard, or wait until one expires`,
    )
    expect(store.size).toBe(MAX_SESSIONS_PER_ADDRESS)
    for (const d of devices) expect(store.lookup(d.secret)).not.toBeNull()
    // Another address is not affected; one that expired or signed out makes room again.
    expect(store.create(spec({ address: '203.0.113.6' })).session.address).toBe('203.0.113.6')
    store.revoke(devices[0].session.id)
    expect(store.create(spec({ address: '203.0.113.5' })).session.address).toBe('203.0.113.5')
  })

  it('counts IPv6 clients by their /64', () => {
    for (let i = 0; i < MAX_SESSIONS_PER_ADDRESS; i++) store.create(spec({ address: `2001:db8:1:2::${(i + 1).toString(16)}` }))
    expect(refusalOf(() => store.create(spec({ address: '2001:db8:1:2:ffff:1:2:3' }))).code).toBe('too_many_devices')
    expect(store.create(spec({ address: '2001:db8:1:3::1' })).session.role).toBe('viewer')
  })

  it('lets an admin sign in from an address that viewers have filled', () => {
    for (let i = 0; i < MAX_SESSIONS_PER_ADDRESS; i++) store.create(spec({ address: '203.0.113.9' }))
    expect(refusalOf(() => store.create(spec({ address: '203.0.113.9' }))).code).toBe('too_many_devices')
    const admin = store.create(spec({ role: 'admin', issuer: 'access-token:1a2b3c4d', address: '203.0.113.9' }))
    expect(store.lookup(admin.secret)?.role).toBe('admin')
    expect(store.size).toBe(MAX_SESSIONS_PER_ADDRESS + 1)
  })
})

describe('SessionStore overall bound', () => {
  it('makes room by signing out the least recently seen viewer, never an admin', () => {
    const admins = fill(10, 'admin')
    const viewers = fill(MAX_SESSIONS - 10, 'viewer', 10)
    expect(store.size).toBe(MAX_SESSIONS)
    // The admins are the least recently seen of all; a viewer has to give way instead.
    store.create(spec({ issuer: 'short-lived:late', address: '192.0.2.200' }))
    expect(store.size).toBe(MAX_SESSIONS)
    expect(store.lookup(viewers[0].secret)).toBeNull()
    for (const a of admins) expect(store.lookup(a.secret)).not.toBeNull()
    // The next least recently seen viewer goes next, also for an admin signing in.
    expect(store.lookup(viewers[1].secret)).not.toBeNull()
    store.create(spec({ role: 'admin', issuer: 'access-token:1a2b3c4d', address: '192.0.2.201' }))
    expect(store.lookup(viewers[2].secret)).toBeNull()
    expect(store.lookup(viewers[1].secret)).not.toBeNull()
    for (const a of admins) expect(store.lookup(a.secret)).not.toBeNull()
  })

  it('refuses a new device with 503 too_many_sessions when every signed-in device is an admin', () => {
    const admins = fill(MAX_SESSIONS, 'admin')
    const err = refusalOf(() => store.create(spec({ address: '192.0.2.250' })))
    expect(err.status).toBe(503)
    expect(err.code).toBe('too_many_sessions')
    expect(err.message).toStartWith(`Cannot sign in another device: ${MAX_SESSIONS} devices are signed in, all of them admins;`)
    expect(store.size).toBe(MAX_SESSIONS)
    expect(store.lookup(admins[0].secret)).not.toBeNull()
    // An expired session makes room without refusing anyone.
    clock += 3600_000
    expect(store.create(spec({ address: '192.0.2.250' })).session.role).toBe('viewer')
    expect(store.size).toBe(1)
  })

  it('creates 10,050 sessions well under a second, ending at the bound', () => {
    const started = performance.now()
    for (let i = 0; i < MAX_SESSIONS + 50; i++) {
      store.create(spec({ issuer: `short-lived:${Math.floor(i / 50)}`, address: addressOf(i) }))
      clock += 1
    }
    const ms = performance.now() - started
    console.log(`${MAX_SESSIONS + 50} session creations: ${ms.toFixed(0)} ms`)
    expect(store.size).toBe(MAX_SESSIONS)
    expect(ms).toBeLessThan(300)
  })
})

describe('SessionStore addresses on disk', () => {
  it('keeps the address of a durable session across a restart', () => {
    const { secret } = store.create(spec({ role: 'admin', issuer: 'persistent:0123456789abcdef', durable: true, address: '198.51.100.23' }))
    store.create(spec({ address: '198.51.100.24' }))
    expect(JSON.parse(readFileSync(join(dir, 'sessions.json'), 'utf8'))).toMatchObject([{ address: '198.51.100.23' }])
    const reloaded = new SessionStore({ dataDir: dir, now: () => clock })
    expect(reloaded.size).toBe(1)
    expect(reloaded.lookup(secret)?.address).toBe('198.51.100.23')
    expect(describeSession(reloaded.list()[0], undefined).address).toBe('198.51.100.23')
  })

  it('loads a sessions.json written before addresses were kept, showing no address', () => {
    const { secret, session } = store.create(spec({ role: 'admin', issuer: 'persistent:0123456789abcdef', durable: true }))
    const { address: _, ...old } = session
    writeFileSync(join(dir, 'sessions.json'), JSON.stringify([old], null, 1) + '\n')
    const reloaded = new SessionStore({ dataDir: dir, now: () => clock })
    const loaded = reloaded.lookup(secret)
    expect(loaded?.id).toBe(session.id)
    expect(loaded?.address).toBeUndefined()
    expect(describeSession(loaded!, undefined).address).toBeNull()
    // It counts against no address: that address can still sign in its full share.
    for (let i = 0; i < MAX_SESSIONS_PER_ADDRESS; i++) reloaded.create(spec({ address: '192.0.2.1' }))
    expect(reloaded.size).toBe(MAX_SESSIONS_PER_ADDRESS + 1)
  })

  it('keeps only the most recently seen devices of a link when an older file holds more than its bound', () => {
    const issuer = 'persistent:0123456789abcdef'
    const made = []
    for (let i = 0; i < MAX_SESSIONS_PER_ISSUER + 50; i++, clock++) made.push(store.create(spec({ role: 'admin', issuer, durable: true, address: addressOf(i) })))
    // Written as an older latchkey, with no bound per link, would have left it.
    const old = made.map(({ session }) => session)
    writeFileSync(join(dir, 'sessions.json'), JSON.stringify(old, null, 1) + '\n')
    const reloaded = new SessionStore({ dataDir: dir, now: () => clock })
    expect(reloaded.size).toBe(MAX_SESSIONS_PER_ISSUER)
    expect(reloaded.lookup(made[49].secret)).toBeNull()
    expect(reloaded.lookup(made[50].secret)).not.toBeNull()
    expect(reloaded.lookup(made.at(-1)!.secret)).not.toBeNull()
  })
})
