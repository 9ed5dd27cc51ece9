/**
 * Login tokens for `/remote-login?rt=` (runbook §6.1, "Hybrid token model"):
 *
 * - Persistent (`remoteAccess.tokenStrategy.persistent`): one token in settings.json,
 *   generated on first need, reused by every link until regenerated. Rotating it (here or
 *   by any settings change) revokes every session it issued (runbook §6.2; issue 5).
 * - Short-lived (`tokenStrategy.shortLived`): in memory only, stored as SHA-256 hashes,
 *   swept once expired, gone on restart, at most MAX_LIVE_TOKENS at once (minting past that
 *   is refused; a live link is never evicted). Beyond the runbook: `oneTime` links work for
 *   exactly one login, and `role: 'viewer'` links share a read-only dashboard.
 *
 * The clock is injectable so expiry is tested without sleeping.
 */
import type { SettingsStore } from '../config/settings-store.ts'
import type { Settings } from '../config/settings-schema.ts'
import { ApiError, BadRequestError, ConflictError } from '../errors.ts'
import { hashSecret, randomSecret, secretsEqual } from './secrets.ts'
import { BoundedMap } from './bounded-map.ts'
import type { GrantedRole } from './sessions.ts'

export type TokenType = 'persistent' | 'short-lived'
export type LoginRole = GrantedRole
export type LoginFailure = 'remote_token_missing' | 'remote_token_expired' | 'remote_token_invalid'

export interface ShortLivedRequest {
  ttlMs?: number
  oneTime?: boolean
  role?: LoginRole
}

export interface IssuedToken {
  token: string
  tokenType: TokenType
  /** Epoch ms, or null for the persistent token (valid until rotated). */
  expiresAt: number | null
  ttlMs: number | null
  oneTime: boolean
  role: LoginRole
  /** The requested TTL was above `maxTtlMs` and was cut down to it. */
  clamped: boolean
}

export type Verdict =
  | { ok: true; tokenType: TokenType; role: LoginRole; issuer: string; sessionMaxAgeMs: number; durable: boolean }
  | { ok: false; code: LoginFailure }

interface ShortLivedRecord {
  id: string
  expiresAt: number
  oneTime: boolean
  role: LoginRole
}

/**
 * Live short-lived tokens kept at most. Minting never evicts a live token (a pending
 * one-time link must keep working): expired ones are swept, and past the bound a new one is
 * refused with 429 `too_many_login_links`. The bound keeps memory flat when a script (or an
 * attacker with an admin session) generates tokens in a loop.
 */
export const MAX_LIVE_TOKENS = 10_000
/** Expired tokens remembered (by a 128-bit hash prefix) so a late visit says "expired". */
export const MAX_REMEMBERED_EXPIRED = 10_000
const REMEMBER_EXPIRED_MS = 24 * 3600_000
const SWEEP_EVERY_MS = 1000
export const MIN_TTL_MS = 1000
/** Sessions of the persistent token last as long as those of the access token. */
export const PERSISTENT_SESSION_MAX_AGE_MS = 30 * 86400_000
const MAX_TOKEN_LENGTH = 512

export interface LoginTokenOptions {
  settings: SettingsStore
  /** End every session a rotated token issued (SessionStore.revokeIssuer). Returns how many. */
  revokeIssuer(issuer: string): number
  /** Register a secret the log must never print. */
  addSecret?(secret: string): void
  now?: () => number
}

/** The issuer id sessions of a persistent token carry (not secret: a 64-bit hash prefix). */
export function persistentIssuerOf(token: string | null): string | null {
  return token ? `persistent:${hashSecret(token).slice(0, 16)}` : null
}

function liveIssuer(settings: Settings): string | null {
  const p = settings.remoteAccess.tokenStrategy.persistent
  return p.enabled ? persistentIssuerOf(p.token) : null
}

export class LoginTokens {
  #o: LoginTokenOptions
  #now: () => number
  // A plain Map: the bound on live tokens is kept by refusing to mint, never by eviction.
  #live = new Map<string, ShortLivedRecord>()
  #expired = new BoundedMap<string, number>(MAX_REMEMBERED_EXPIRED)
  #nextSweep = Infinity
  /** The earliest expiresAt of a live token, as of the last sweep. */
  #earliest = Infinity
  #rotating = false

  constructor(o: LoginTokenOptions) {
    this.#o = o
    this.#now = o.now ?? Date.now
    o.addSecret?.(o.settings.get().remoteAccess.tokenStrategy.persistent.token ?? '')
    // Any change that retires the persistent token (regenerate, PUT settings, turning the
    // strategy off) ends its sessions: "Rotating a token ends the sessions it issued".
    o.settings.subscribe((next, prev) => {
      const before = liveIssuer(prev)
      if (before && before !== liveIssuer(next) && !this.#rotating) o.revokeIssuer(before)
      const token = next.remoteAccess.tokenStrategy.persistent.token
      if (token) o.addSecret?.(token)
    })
  }

  /** The persistent token, generated and stored on first need. 409 when the strategy is off. */
  persistentToken(): IssuedToken {
    const p = this.#o.settings.get().remoteAccess.tokenStrategy.persistent
    if (!p.enabled) {
      throw new ConflictError('token_strategy_disabled', 'Persistent login tokens are turned off: set "remoteAccess.tokenStrategy.persistent.enabled" to true')
    }
    return this.#persistentIssued(p.token ?? this.#storePersistent(randomSecret(32)))
  }

  /** Replace the persistent token; the old one and every session it issued stop working now. */
  regeneratePersistent(): { revokedSessions: number } {
    const old = persistentIssuerOf(this.#o.settings.get().remoteAccess.tokenStrategy.persistent.token)
    this.#rotating = true
    try {
      this.#storePersistent(randomSecret(32))
    } finally {
      this.#rotating = false
    }
    return { revokedSessions: old ? this.#o.revokeIssuer(old) : 0 }
  }

  /** Issuer of sessions the current persistent token created (start-up keeps these). */
  persistentIssuer(): string | null {
    return liveIssuer(this.#o.settings.get())
  }

  /** A new short-lived token. TTL defaults to `ttlMs` and is clamped to `maxTtlMs`. */
  generateShortLived(req: ShortLivedRequest = {}): IssuedToken {
    const s = this.#o.settings.get().remoteAccess.tokenStrategy.shortLived
    if (!s.enabled) {
      throw new ConflictError('token_strategy_disabled', 'Short-lived login tokens are turned off: set "remoteAccess.tokenStrategy.shortLived.enabled" to true')
    }
    const requested = req.ttlMs ?? s.ttlMs
    if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < MIN_TTL_MS) {
      throw new BadRequestError('ttlMs', `"ttlMs" must be a whole number of milliseconds, at least ${MIN_TTL_MS}`)
    }
    const role = req.role ?? 'admin'
    if (role !== 'admin' && role !== 'viewer') throw new BadRequestError('role', '"role" must be admin or viewer')
    const ttlMs = Math.min(requested, s.maxTtlMs)
    const now = this.#now()
    this.#sweepIfDue(now)
    // Full: a real sweep (not the throttled one) drops what has expired and finds the next expiry.
    if (this.#live.size >= MAX_LIVE_TOKENS) this.#sweep(now)
    if (this.#live.size >= MAX_LIVE_TOKENS) {
      const waitSec = Math.max(1, Math.ceil((this.#earliest - now) / 1000))
      throw new ApiError(
        429,
        'too_many_login_links',
        `Cannot create another login link: ${this.#live.size} short-lived links are live; wait for one to expire (the next expires in ${waitSec} s), or restart latchkey, which forgets every short-lived link`,
        undefined,
        { 'retry-after': String(waitSec) },
      )
    }
    const token = randomSecret(32)
    const record: ShortLivedRecord = { id: randomSecret(12), expiresAt: now + ttlMs, oneTime: req.oneTime === true, role }
    this.#live.set(hashSecret(token), record)
    this.#nextSweep = Math.min(this.#nextSweep, record.expiresAt)
    return { token, tokenType: 'short-lived', expiresAt: record.expiresAt, ttlMs, oneTime: record.oneTime, role, clamped: requested > s.maxTtlMs }
  }

  /**
   * Check an `rt` value and, for a one-time token, use it up (unless `consume` is false).
   * Missing, expired and invalid are told apart as the runbook's troubleshooting matrix (§7)
   * expects.
   */
  verify(rt: string | null | undefined, opts: { consume?: boolean } = {}): Verdict {
    if (!rt) return { ok: false, code: 'remote_token_missing' }
    if (rt.length > MAX_TOKEN_LENGTH) return { ok: false, code: 'remote_token_invalid' }
    const now = this.#now()
    this.#sweepIfDue(now)
    const strategy = this.#o.settings.get().remoteAccess.tokenStrategy
    const p = strategy.persistent
    if (p.enabled && secretsEqual(rt, p.token)) {
      return { ok: true, tokenType: 'persistent', role: 'admin', issuer: persistentIssuerOf(p.token)!, sessionMaxAgeMs: PERSISTENT_SESSION_MAX_AGE_MS, durable: true }
    }
    // Short-lived tokens are found by their SHA-256 (the map never holds the secret).
    const hash = hashSecret(rt)
    const record = this.#live.get(hash)
    if (record && record.expiresAt <= now) {
      this.#retire(hash, now)
      return { ok: false, code: 'remote_token_expired' }
    }
    if (record) {
      if (!strategy.shortLived.enabled) return { ok: false, code: 'remote_token_invalid' }
      if (record.oneTime && opts.consume !== false) this.#live.delete(hash)
      return {
        ok: true,
        tokenType: 'short-lived',
        role: record.role,
        issuer: `short-lived:${record.id}`,
        sessionMaxAgeMs: strategy.shortLived.sessionMaxAgeMs,
        durable: false,
      }
    }
    if (this.#expired.has(hash.slice(0, 32))) return { ok: false, code: 'remote_token_expired' }
    return { ok: false, code: 'remote_token_invalid' }
  }

  /** Use up a one-time token once it has signed a device in (verify with `consume: false`). */
  consume(rt: string): void {
    const hash = hashSecret(rt)
    if (this.#live.get(hash)?.oneTime) this.#live.delete(hash)
  }

  /** Drop expired tokens now (also happens on its own, at most once a second, on use). */
  sweep(): void {
    this.#sweep(this.#now())
  }

  /** Live short-lived tokens held (bounded by MAX_LIVE_TOKENS). */
  get liveCount(): number {
    return this.#live.size
  }

  /** Expired tokens remembered for the "expired" answer (bounded by MAX_REMEMBERED_EXPIRED). */
  get rememberedCount(): number {
    return this.#expired.size
  }

  #persistentIssued(token: string): IssuedToken {
    return { token, tokenType: 'persistent', expiresAt: null, ttlMs: null, oneTime: false, role: 'admin', clamped: false }
  }

  #storePersistent(token: string): string {
    this.#o.addSecret?.(token)
    this.#o.settings.update((draft) => {
      draft.remoteAccess.tokenStrategy.persistent.token = token
    })
    return token
  }

  #sweepIfDue(now: number): void {
    if (now >= this.#nextSweep) this.#sweep(now)
  }

  #sweep(now: number): void {
    let next = Infinity
    for (const [hash, r] of this.#live.entries()) {
      if (r.expiresAt <= now) this.#retire(hash, now)
      else if (r.expiresAt < next) next = r.expiresAt
    }
    // Remembered entries are inserted in clock order, so the oldest are at the front.
    for (let e = this.#expired.oldest(); e && e[1] + REMEMBER_EXPIRED_MS <= now; e = this.#expired.oldest()) this.#expired.shift()
    this.#earliest = next
    this.#nextSweep = next === Infinity ? Infinity : Math.max(next, now + SWEEP_EVERY_MS)
  }

  #retire(hash: string, now: number): void {
    const record = this.#live.get(hash)
    this.#live.delete(hash)
    // A used-up one-time token is gone, not expired; only unused tokens are remembered.
    if (!record) return
    this.#expired.set(hash.slice(0, 32), now)
  }
}
