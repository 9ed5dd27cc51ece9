/** LoginTokens: persistent and short-lived login tokens, with an injected clock. */
import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SettingsStore } from '../../../src/config/settings-store.ts'
import { SessionStore } from '../../../src/tokens/sessions.ts'
import { ApiError } from '../../../src/errors.ts'
import {
  LoginTokens,
  MAX_LIVE_TOKENS,
  MAX_REMEMBERED_EXPIRED,
  PERSISTENT_SESSION_MAX_AGE_MS,
  persistentIssuerOf,
} from '../../../src/tokens/login-tokens.ts'

let dir: string
let settings: SettingsStore
let sessions: SessionStore
let clock: number
let revoked: string[]
let secrets: string[]

function make(): LoginTokens {
  return new LoginTokens({
    settings,
    now: () => clock,
    revokeIssuer: (issuer) => (revoked.push(issuer), sessions.revokeIssuer(issuer)),
    addSecret: (s) => secrets.push(s),
  })
}

function errorOf(f: () => unknown): ApiError {
  try {
    f()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected an ApiError')
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lk-login-tokens-'))
  settings = SettingsStore.open(dir)
  clock = 1_700_000_000_000
  sessions = new SessionStore({ dataDir: dir, now: () => clock })
  revoked = []
  secrets = []
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('LoginTokens persistent token', () => {
  it('generates the token on first need, stores it in settings.json and reuses it', () => {
    const tokens = make()
    expect(settings.get().remoteAccess.tokenStrategy.persistent.token).toBeNull()
    const first = tokens.persistentToken()
    expect(first.token.length).toBeGreaterThanOrEqual(43) // 256 bits, base64url
    expect(first.token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(first.expiresAt).toBeNull()
    const onDisk = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))
    expect(onDisk.remoteAccess.tokenStrategy.persistent.token).toBe(first.token)
    expect(tokens.persistentToken().token).toBe(first.token)
    expect(secrets).toContain(first.token)
  })

  it('accepts the persistent token as an admin login with a durable 30-day session', () => {
    const tokens = make()
    const { token } = tokens.persistentToken()
    const v = tokens.verify(token)
    expect(v).toEqual({ ok: true, tokenType: 'persistent', role: 'admin', issuer: persistentIssuerOf(token)!, sessionMaxAgeMs: PERSISTENT_SESSION_MAX_AGE_MS, durable: true })
    // Persistent tokens are not one-time.
    expect(tokens.verify(token).ok).toBe(true)
  })

  it('regenerates: the old token is invalid and every session it issued is revoked', () => {
    const tokens = make()
    const old = tokens.persistentToken().token
    const issuer = tokens.persistentIssuer()!
    const a = sessions.create({ role: 'admin', issuer, userAgent: 'phone', maxAgeMs: 60_000, durable: true, address: '192.0.2.1' })
    const other = sessions.create({ role: 'admin', issuer: 'access-token:x', userAgent: 'laptop', maxAgeMs: 60_000, durable: false, address: '192.0.2.2' })
    const { revokedSessions } = tokens.regeneratePersistent()
    expect(revokedSessions).toBe(1)
    expect(sessions.lookup(a.secret)).toBeNull()
    expect(sessions.lookup(other.secret)).not.toBeNull()
    expect(tokens.verify(old)).toEqual({ ok: false, code: 'remote_token_invalid' })
    const fresh = tokens.persistentToken().token
    expect(fresh).not.toBe(old)
    expect(tokens.verify(fresh).ok).toBe(true)
    expect(tokens.persistentIssuer()).not.toBe(issuer)
    // The durable sessions file no longer holds the revoked session.
    expect(readFileSync(join(dir, 'sessions.json'), 'utf8')).not.toContain(a.session.hash)
  })

  it('revokes the sessions of a token replaced by any settings change, not only regenerate', () => {
    const tokens = make()
    tokens.persistentToken()
    const issuer = tokens.persistentIssuer()!
    const s = sessions.create({ role: 'admin', issuer, userAgent: 'phone', maxAgeMs: 60_000, durable: true, address: '192.0.2.1' })
    settings.update((d) => {
      d.remoteAccess.tokenStrategy.persistent.token = 'x'.repeat(40)
    })
    expect(revoked).toEqual([issuer])
    expect(sessions.lookup(s.secret)).toBeNull()
  })

  it('refuses the persistent token and revokes its sessions once the strategy is turned off', () => {
    const tokens = make()
    const { token } = tokens.persistentToken()
    const s = sessions.create({ role: 'admin', issuer: tokens.persistentIssuer()!, userAgent: 'phone', maxAgeMs: 60_000, durable: true, address: '192.0.2.1' })
    settings.update((d) => {
      d.remoteAccess.tokenStrategy.persistent.enabled = false
    })
    expect(tokens.verify(token)).toEqual({ ok: false, code: 'remote_token_invalid' })
    expect(sessions.lookup(s.secret)).toBeNull()
    const err = errorOf(() => tokens.persistentToken())
    expect(err.status).toBe(409)
    expect(err.code).toBe('token_strategy_disabled')
  })
})

describe('LoginTokens short-lived tokens', () => {
  it('uses the default TTL and clamps a longer one to maxTtlMs', () => {
    const tokens = make()
    const d = tokens.generateShortLived()
    expect(d.ttlMs).toBe(900_000)
    expect(d.expiresAt).toBe(clock + 900_000)
    expect(d.clamped).toBe(false)
    const long = tokens.generateShortLived({ ttlMs: 7 * 86400_000 })
    expect(long.ttlMs).toBe(86400_000)
    expect(long.expiresAt).toBe(clock + 86400_000)
    expect(long.clamped).toBe(true)
  })

  it('rejects a TTL that is not a whole number of at least 1000 ms, naming ttlMs', () => {
    const tokens = make()
    for (const bad of [0, -5, 999, 1500.5, Number.NaN]) {
      const err = errorOf(() => tokens.generateShortLived({ ttlMs: bad }))
      expect(err.status).toBe(400)
      expect(err.field).toBe('ttlMs')
    }
    expect(tokens.liveCount).toBe(0)
  })

  it('expires a token at its TTL and says expired (not invalid) afterwards, even once swept', () => {
    const tokens = make()
    const { token } = tokens.generateShortLived({ ttlMs: 60_000 })
    clock += 59_999
    expect(tokens.verify(token).ok).toBe(true)
    clock += 1
    expect(tokens.verify(token)).toEqual({ ok: false, code: 'remote_token_expired' })
    tokens.sweep()
    expect(tokens.liveCount).toBe(0)
    expect(tokens.verify(token)).toEqual({ ok: false, code: 'remote_token_expired' })
    // The memory of expired tokens is bounded in time too.
    clock += 25 * 3600_000
    tokens.sweep()
    expect(tokens.rememberedCount).toBe(0)
    expect(tokens.verify(token)).toEqual({ ok: false, code: 'remote_token_invalid' })
  })

  it('sweeps expired tokens on its own when tokens are used', () => {
    const tokens = make()
    for (let i = 0; i < 50; i++) tokens.generateShortLived({ ttlMs: 10_000 })
    expect(tokens.liveCount).toBe(50)
    clock += 10_000
    tokens.generateShortLived({ ttlMs: 10_000 })
    expect(tokens.liveCount).toBe(1)
  })

  it('accepts a one-time token exactly once; the replay is invalid', () => {
    const tokens = make()
    const { token, oneTime } = tokens.generateShortLived({ oneTime: true })
    expect(oneTime).toBe(true)
    const first = tokens.verify(token)
    expect(first.ok).toBe(true)
    expect(tokens.verify(token)).toEqual({ ok: false, code: 'remote_token_invalid' })
    expect(tokens.liveCount).toBe(0)
  })

  it('only checks a one-time token when asked not to consume it', () => {
    const tokens = make()
    const { token } = tokens.generateShortLived({ oneTime: true })
    expect(tokens.verify(token, { consume: false }).ok).toBe(true)
    expect(tokens.verify(token, { consume: false }).ok).toBe(true)
    expect(tokens.verify(token).ok).toBe(true)
    expect(tokens.verify(token, { consume: false })).toEqual({ ok: false, code: 'remote_token_invalid' })
  })

  it('issues viewer tokens whose sessions are viewers, with the short-lived session max age', () => {
    const tokens = make()
    const { token, role } = tokens.generateShortLived({ role: 'viewer' })
    expect(role).toBe('viewer')
    const v = tokens.verify(token)
    if (!v.ok) throw new Error('expected ok')
    expect(v.role).toBe('viewer')
    expect(v.durable).toBe(false)
    expect(v.issuer).toMatch(/^short-lived:[A-Za-z0-9_-]+$/)
    expect(v.sessionMaxAgeMs).toBe(settings.get().remoteAccess.tokenStrategy.shortLived.sessionMaxAgeMs)
  })

  it('tells a missing token from an invalid one and never matches an empty or huge value', () => {
    const tokens = make()
    tokens.persistentToken()
    expect(tokens.verify(null)).toEqual({ ok: false, code: 'remote_token_missing' })
    expect(tokens.verify('')).toEqual({ ok: false, code: 'remote_token_missing' })
    expect(tokens.verify('nope')).toEqual({ ok: false, code: 'remote_token_invalid' })
    expect(tokens.verify('a'.repeat(10_000))).toEqual({ ok: false, code: 'remote_token_invalid' })
  })

  it('keeps short-lived tokens out of settings.json and refuses them when the strategy is off', () => {
    const tokens = make()
    const { token } = tokens.generateShortLived()
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).not.toContain(token)
    settings.update((d) => {
      d.remoteAccess.tokenStrategy.shortLived.enabled = false
    })
    expect(tokens.verify(token)).toEqual({ ok: false, code: 'remote_token_invalid' })
    expect(errorOf(() => tokens.generateShortLived()).code).toBe('token_strategy_disabled')
  })

  it('refuses to mint past MAX_LIVE_TOKENS with 429 too_many_login_links, and never evicts a pending one-time link', () => {
    const tokens = make()
    const first = tokens.generateShortLived({ oneTime: true, ttlMs: 60_000 })
    for (let i = 1; i < MAX_LIVE_TOKENS; i++) tokens.generateShortLived({ ttlMs: 120_000 })
    expect(tokens.liveCount).toBe(MAX_LIVE_TOKENS)
    const err = errorOf(() => tokens.generateShortLived({ role: 'viewer' }))
    expect(err.status).toBe(429)
    expect(err.code).toBe('too_many_login_links')
    expect(err.message).toBe(
      `Cannot create another login link: ${MAX_LIVE_TOKENS} short-lived links are live; wait for one to expire (the next expires in 60 s), or restart latchkey, which forgets every short-lived link`,
    )
    expect(err.headers['retry-after']).toBe('60')
    expect(tokens.liveCount).toBe(MAX_LIVE_TOKENS)
    expect(tokens.verify(first.token, { consume: false }).ok).toBe(true)
    // Once one has expired, minting works again, and the others are still live.
    clock += 60_000
    expect(tokens.verify(first.token)).toEqual({ ok: false, code: 'remote_token_expired' })
    const next = tokens.generateShortLived({ oneTime: true })
    expect(tokens.liveCount).toBe(MAX_LIVE_TOKENS)
    expect(tokens.verify(next.token).ok).toBe(true)
  })

  it('keeps memory bounded over 100k generated tokens', () => {
    const tokens = make()
    Bun.gc(true)
    const before = process.memoryUsage().heapUsed
    const started = performance.now()
    let last = ''
    for (let i = 0; i < 100_000; i++) {
      last = tokens.generateShortLived({ ttlMs: 1000 + (i % 5000) }).token
      if (i % 1000 === 0) clock += 1000
    }
    const ms = performance.now() - started
    expect(tokens.liveCount).toBeLessThanOrEqual(MAX_LIVE_TOKENS)
    expect(tokens.rememberedCount).toBeLessThanOrEqual(MAX_REMEMBERED_EXPIRED)
    expect(tokens.verify(last).ok).toBe(true)
    Bun.gc(true)
    const grownMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024
    console.log(`100k short-lived tokens: ${ms.toFixed(0)} ms, live ${tokens.liveCount}, remembered ${tokens.rememberedCount}, heap +${grownMb.toFixed(1)} MB`)
    expect(grownMb).toBeLessThan(32)
  })
})
