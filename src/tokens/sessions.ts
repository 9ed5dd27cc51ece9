/**
 * Browser sessions: what a `?token=` or `/remote-login?rt=` visit is exchanged for.
 * The cookie holds a random secret; only its hash is kept (in memory, and on disk for
 * sessions whose issuing token outlives a restart). Each session is a named device.
 * How many there may be, and who gives way, is session-bounds.ts.
 */
import { join } from 'node:path'
import { randomSecret, hashSecret } from './secrets.ts'
import { readSavedList, writeSavedList } from './saved-list.ts'
import { MAX_SESSIONS, MAX_SESSIONS_PER_ISSUER, SessionBounds } from './session-bounds.ts'

export const SESSION_COOKIE = 'latchkey_session'

/** The roles a credential can grant (the guard adds `none` for no identity). */
export type GrantedRole = 'admin' | 'viewer'

/**
 * What a session from a share link may reach (shares.ts): one app, and only GET and HEAD
 * when `viewOnly`. The guard enforces it (src/guard/scope.ts).
 */
export interface SessionScope {
  /** The share's id (its sessions' issuer is `share:<id>`). */
  share: string
  app: string
  viewOnly: boolean
}

export interface SessionRecord {
  /** Public id used in the device list and DELETE /api/remote/sessions/:id (not a secret). */
  id: string
  /** SHA-256 of the cookie secret. */
  hash: string
  role: GrantedRole
  /** Which credential issued it, e.g. "access-token:1a2b3c4d" or "persistent:…" or "short-lived:…". */
  issuer: string
  userAgent: string
  createdAt: number
  lastSeenAt: number
  expiresAt: number
  /** Kept across restarts (its issuer is a persistent or fixed token). */
  durable: boolean
  /**
   * The client address the guard saw at sign-in (peer, or what a tunnel reported). Shown
   * in the device list only. Absent on sessions saved before it was kept.
   */
  address?: string
  /** Set on sessions from a share link: the one app they reach. */
  scope?: SessionScope
}

export interface NewSession {
  role: GrantedRole
  issuer: string
  userAgent: string
  maxAgeMs: number
  /** An absolute end that comes before `maxAgeMs` runs out (a share link's expiry). */
  expiresAt?: number
  durable: boolean
  /** The caller's address (`caller.address`), counted by session-bounds.ts. */
  address: string
  scope?: SessionScope
}

// Expired sessions are dropped at most once a second on create (and at once when full).
const SWEEP_EVERY_MS = 1000

export class SessionStore {
  #byHash = new Map<string, SessionRecord>()
  #bounds = new SessionBounds()
  /** The earliest expiresAt held (may be stale-early after a removal: one extra sweep). */
  #earliest = Infinity
  #lastSweep = -Infinity
  #path: string | null
  #now: () => number
  #listeners = new Set<(event: 'created' | 'revoked', s: SessionRecord) => void>()

  constructor(opts: { dataDir?: string; now?: () => number } = {}) {
    this.#path = opts.dataDir ? join(opts.dataDir, 'sessions.json') : null
    this.#now = opts.now ?? Date.now
    this.#load()
  }

  /**
   * Create a session; returns the cookie secret (shown once) and the record. Throws an
   * ApiError (429 `too_many_devices`, 503 `too_many_sessions`) when the bounds refuse it.
   */
  create(spec: NewSession): { secret: string; session: SessionRecord } {
    const now = this.#now()
    this.#sweepIfDue(now, this.#byHash.size >= MAX_SESSIONS)
    const room = this.#bounds.room(spec, this.#byHash.size, now)
    if ('refused' in room) throw room.refused
    let save = spec.durable
    for (const s of room.evict) this.#remove(s, false), (save ||= s.durable)
    const secret = randomSecret(32)
    const session: SessionRecord = {
      id: randomSecret(9),
      hash: hashSecret(secret),
      role: spec.role,
      issuer: spec.issuer,
      userAgent: spec.userAgent.slice(0, 300),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: Math.min(now + spec.maxAgeMs, spec.expiresAt ?? Infinity),
      durable: spec.durable,
      address: spec.address,
      ...(spec.scope ? { scope: { ...spec.scope } } : {}),
    }
    this.#add(session)
    if (save) this.#save()
    for (const l of this.#listeners) l('created', session)
    return { secret, session }
  }

  /** The live session for a cookie secret, or null. Touches lastSeenAt. */
  lookup(secret: string | null | undefined): SessionRecord | null {
    if (!secret || secret.length > 200) return null
    const hash = hashSecret(secret)
    // Keyed by the secret's hash: the lookup reveals nothing about the secret itself.
    const s = this.#byHash.get(hash)
    if (!s) return null
    const now = this.#now()
    if (s.expiresAt <= now) {
      this.#remove(s)
      return null
    }
    if (s.lastSeenAt !== now) {
      s.lastSeenAt = now
      this.#bounds.touched(s)
    }
    return s
  }

  list(): SessionRecord[] {
    this.sweep()
    return [...this.#byHash.values()].sort((a, b) => b.lastSeenAt - a.lastSeenAt)
  }

  /** Sign one device out at once. Returns whether it existed. */
  revoke(id: string): boolean {
    for (const s of this.#byHash.values()) if (s.id === id) return this.#remove(s), true
    return false
  }

  /** End every session issued by `issuer` (a rotated or revoked token). Returns how many. */
  revokeIssuer(issuer: string): number {
    let n = 0
    for (const s of [...this.#byHash.values()]) if (s.issuer === issuer) this.#remove(s, false), n++
    if (n) this.#save()
    return n
  }

  /** Keep only sessions whose issuer is still valid (called at start-up after tokens load). */
  retainIssuers(valid: (issuer: string) => boolean): void {
    let changed = false
    for (const s of [...this.#byHash.values()]) if (!valid(s.issuer)) this.#remove(s, false), (changed = true)
    if (changed) this.#save()
  }

  /** Drop expired sessions. */
  sweep(): void {
    this.#sweep(this.#now())
  }

  on(listener: (event: 'created' | 'revoked', s: SessionRecord) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  get size(): number {
    return this.#byHash.size
  }

  /** Persist lastSeenAt of durable sessions (called at shutdown). */
  flush(): void {
    this.#save()
  }

  #add(s: SessionRecord): void {
    this.#byHash.set(s.hash, s)
    this.#bounds.add(s)
    if (s.expiresAt < this.#earliest) this.#earliest = s.expiresAt
  }

  #drop(s: SessionRecord): void {
    this.#byHash.delete(s.hash)
    this.#bounds.delete(s)
  }

  #remove(s: SessionRecord, save = true): void {
    this.#drop(s)
    if (save && s.durable) this.#save()
    for (const l of this.#listeners) l('revoked', s)
  }

  /** Sweep when something may have expired: at most once a second, or now when full. */
  #sweepIfDue(now: number, full: boolean): void {
    if (now >= this.#earliest && (full || now >= this.#lastSweep + SWEEP_EVERY_MS)) this.#sweep(now)
  }

  #sweep(now: number): void {
    let changed = false
    let earliest = Infinity
    for (const s of this.#byHash.values()) {
      if (s.expiresAt <= now) {
        this.#drop(s)
        changed ||= s.durable
      } else if (s.expiresAt < earliest) earliest = s.expiresAt
    }
    this.#earliest = earliest
    this.#lastSweep = now
    if (changed) this.#save()
  }

  #load(): void {
    if (!this.#path) return
    const now = this.#now()
    const valid = (readSavedList(this.#path) as SessionRecord[]).filter(
      (s) => typeof s?.hash === 'string' && /^[0-9a-f]{64}$/.test(s.hash) && s.expiresAt > now && (s.role === 'admin' || s.role === 'viewer') && validScope(s.scope),
    )
    // A file from before the bounds may hold more than they allow: the most recently
    // seen devices stay signed in.
    const perIssuer = new Map<string, number>()
    const kept: SessionRecord[] = []
    for (const s of valid.sort((a, b) => b.lastSeenAt - a.lastSeenAt)) {
      const n = perIssuer.get(s.issuer) ?? 0
      if (n >= MAX_SESSIONS_PER_ISSUER || kept.length >= MAX_SESSIONS) continue
      perIssuer.set(s.issuer, n + 1)
      const { address, ...rest } = s
      kept.push({ ...rest, durable: true, ...(typeof address === 'string' ? { address } : {}) })
    }
    // Oldest first, so the least recently seen are first to give way.
    for (const s of kept.reverse()) this.#add(s)
  }

  #save(): void {
    if (!this.#path) return
    const durable = [...this.#byHash.values()].filter((s) => s.durable)
    writeSavedList(this.#path, durable)
  }
}

/** A saved session's scope must be whole: one with a damaged scope is dropped, never widened. */
function validScope(scope: unknown): boolean {
  if (scope === undefined) return true
  const s = scope as SessionScope
  return typeof s === 'object' && s !== null && typeof s.share === 'string' && typeof s.app === 'string' && typeof s.viewOnly === 'boolean'
}
