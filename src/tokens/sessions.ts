/**
 * Browser sessions: what a `?token=` or `/remote-login?rt=` visit is exchanged for.
 * The cookie holds a random secret; only its hash is kept (in memory, and on disk for
 * sessions whose issuing token outlives a restart). Each session is a named device.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomSecret, hashSecret } from './secrets.ts'
import { writeFileAtomic } from '../config/atomic-write.ts'

export const SESSION_COOKIE = 'latchkey_session'

/** The roles a credential can grant (the guard adds `none` for no identity). */
export type GrantedRole = 'admin' | 'viewer'

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
}

export interface NewSession {
  role: GrantedRole
  issuer: string
  userAgent: string
  maxAgeMs: number
  durable: boolean
}

const MAX_SESSIONS = 10_000

export class SessionStore {
  #byHash = new Map<string, SessionRecord>()
  #path: string | null
  #now: () => number
  #listeners = new Set<(event: 'created' | 'revoked', s: SessionRecord) => void>()

  constructor(opts: { dataDir?: string; now?: () => number } = {}) {
    this.#path = opts.dataDir ? join(opts.dataDir, 'sessions.json') : null
    this.#now = opts.now ?? Date.now
    this.#load()
  }

  /** Create a session; returns the cookie secret (shown once) and the record. */
  create(spec: NewSession): { secret: string; session: SessionRecord } {
    this.sweep()
    if (this.#byHash.size >= MAX_SESSIONS) this.#evictOldest()
    const secret = randomSecret(32)
    const now = this.#now()
    const session: SessionRecord = {
      id: randomSecret(9),
      hash: hashSecret(secret),
      role: spec.role,
      issuer: spec.issuer,
      userAgent: spec.userAgent.slice(0, 300),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + spec.maxAgeMs,
      durable: spec.durable,
    }
    this.#byHash.set(session.hash, session)
    if (session.durable) this.#save()
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
    s.lastSeenAt = now
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
    const now = this.#now()
    let changed = false
    for (const s of [...this.#byHash.values()]) {
      if (s.expiresAt <= now) {
        this.#byHash.delete(s.hash)
        changed ||= s.durable
      }
    }
    if (changed) this.#save()
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

  #remove(s: SessionRecord, save = true): void {
    this.#byHash.delete(s.hash)
    if (save && s.durable) this.#save()
    for (const l of this.#listeners) l('revoked', s)
  }

  #evictOldest(): void {
    let oldest: SessionRecord | undefined
    for (const s of this.#byHash.values()) if (!oldest || s.lastSeenAt < oldest.lastSeenAt) oldest = s
    if (oldest) this.#remove(oldest)
  }

  #load(): void {
    if (!this.#path) return
    let raw: string
    try {
      raw = readFileSync(this.#path, 'utf8')
    } catch {
      return
    }
    try {
      const list = JSON.parse(raw) as SessionRecord[]
      const now = this.#now()
      for (const s of Array.isArray(list) ? list : []) {
        if (typeof s?.hash === 'string' && /^[0-9a-f]{64}$/.test(s.hash) && s.expiresAt > now && (s.role === 'admin' || s.role === 'viewer')) {
          this.#byHash.set(s.hash, { ...s, durable: true })
        }
      }
    } catch {
      // A damaged sessions file only signs devices out; it is rewritten on the next change.
    }
  }

  #save(): void {
    if (!this.#path) return
    const durable = [...this.#byHash.values()].filter((s) => s.durable)
    writeFileAtomic(this.#path, JSON.stringify(durable, null, 1) + '\n')
  }
}
