/**
 * Share links (issue 20, part 1): a link that opens one app, and nothing else of latchkey,
 * for a while. Each share is a record (app, expiry, view only, device limit, how many devices
 * opened it, who made it) kept in `shares.json` in the data dir, like `sessions.json`, so
 * shares and the sessions they issued survive a restart together. The link's secret is kept
 * only as its SHA-256. The sessions a share issues carry its scope (sessions.ts,
 * `SessionRecord.scope`) and its issuer `share:<id>`; revoking the share ends them.
 *
 * The clock is injectable so expiry is tested without sleeping.
 */
import { join } from 'node:path'
import { readSavedList, writeSavedList } from './saved-list.ts'
import { ApiError } from '../errors.ts'
import { hashSecret, randomSecret } from './secrets.ts'
import { MAX_SESSIONS_PER_ISSUER } from './session-bounds.ts'
import type { SessionRecord } from './sessions.ts'

/** The query parameter of a share link: unlikely to be an app's own. */
export const SHARE_PARAM = 'latchkey_share'
export const MIN_SHARE_TTL_MS = 15 * 60_000
export const MAX_SHARE_TTL_MS = 7 * 86400_000
export const DEFAULT_SHARE_TTL_MS = 60 * 60_000
/** A share's device limit fits inside the sessions one issuer may hold (session-bounds.ts). */
export const MAX_SHARE_DEVICES = MAX_SESSIONS_PER_ISSUER
/** Live shares at once: keeps the list and the file finite when a script mints in a loop. */
export const MAX_SHARES = 1000
/** An expired share is remembered this long, so a late visit hears "expired", not "not valid". */
const REMEMBER_EXPIRED_MS = 86400_000
const MAX_SECRET_LENGTH = 200

export interface ShareRecord {
  /** Public id, shown in the list and used by DELETE /api/shares/:id (not a secret). */
  id: string
  /** SHA-256 of the link's secret. */
  hash: string
  app: string
  createdAt: number
  expiresAt: number
  /** GET and HEAD only (no other method, no WebSocket). */
  viewOnly: boolean
  /** How many devices may open it; null: no limit beyond the session bounds. */
  maxDevices: number | null
  /** How many devices opened it (each got a session). */
  opened: number
  /** Who made it: the guard's key of the admin ("local", "tailscale:<id>", "api-key", …). */
  createdBy: string
}

export interface NewShare {
  app: string
  ttlMs: number
  viewOnly: boolean
  maxDevices: number | null
  createdBy: string
}

export type ShareFailure = 'share_invalid' | 'share_expired'

/** The issuer id of the sessions a share signs in. */
export function shareIssuer(id: string): string {
  return `share:${id}`
}

export class ShareStore {
  #byHash = new Map<string, ShareRecord>()
  #path: string | null
  #now: () => number
  #listeners = new Set<(share: ShareRecord, session: SessionRecord) => void>()

  constructor(opts: { dataDir?: string; now?: () => number } = {}) {
    this.#path = opts.dataDir ? join(opts.dataDir, 'shares.json') : null
    this.#now = opts.now ?? Date.now
    this.#load()
  }

  /** A new share; returns the link's secret (shown once) and the record. */
  create(spec: NewShare): { secret: string; share: ShareRecord } {
    const now = this.#now()
    this.#sweep(now)
    if (this.live().length >= MAX_SHARES) {
      throw new ApiError(429, 'too_many_shares', `Cannot create another share link: ${MAX_SHARES} are live; revoke some under Devices, or wait until they expire`)
    }
    const secret = randomSecret(32)
    const share: ShareRecord = {
      id: randomSecret(9),
      hash: hashSecret(secret),
      app: spec.app,
      createdAt: now,
      expiresAt: now + spec.ttlMs,
      viewOnly: spec.viewOnly,
      maxDevices: spec.maxDevices,
      opened: 0,
      createdBy: spec.createdBy.slice(0, 200),
    }
    this.#byHash.set(share.hash, share)
    this.#save()
    return { secret, share }
  }

  /** The live share of a link's secret, or why there is none. */
  verify(secret: string | null): { ok: true; share: ShareRecord } | { ok: false; code: ShareFailure } {
    if (!secret || secret.length > MAX_SECRET_LENGTH) return { ok: false, code: 'share_invalid' }
    // Found by the secret's hash: the map never holds a secret.
    const share = this.#byHash.get(hashSecret(secret))
    if (!share) return { ok: false, code: 'share_invalid' }
    if (share.expiresAt <= this.#now()) return { ok: false, code: 'share_expired' }
    return { ok: true, share }
  }

  /** Count a device that opened the share (a session was made for it), and tell the listeners. */
  opened(share: ShareRecord, session: SessionRecord): void {
    share.opened++
    this.#save()
    for (const l of this.#listeners) l(share, session)
  }

  /** Live shares, newest first. */
  live(): ShareRecord[] {
    const now = this.#now()
    return [...this.#byHash.values()].filter((s) => s.expiresAt > now).sort((a, b) => b.createdAt - a.createdAt)
  }

  get(id: string): ShareRecord | undefined {
    for (const s of this.#byHash.values()) if (s.id === id) return s
    return undefined
  }

  /** Forget a share at once (its sessions are ended by the caller). Returns the record, if it existed. */
  revoke(id: string): ShareRecord | undefined {
    const share = this.get(id)
    if (!share) return undefined
    this.#byHash.delete(share.hash)
    this.#save()
    return share
  }

  /** Whether `issuer` is a share that is still live (start-up keeps its sessions). */
  liveIssuer(issuer: string): boolean {
    if (!issuer.startsWith('share:')) return false
    const share = this.get(issuer.slice('share:'.length))
    return share !== undefined && share.expiresAt > this.#now()
  }

  /** Be told each time a link signs a device in (webhooks send share.opened). */
  onOpened(listener: (share: ShareRecord, session: SessionRecord) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #sweep(now: number): void {
    let changed = false
    for (const [hash, s] of this.#byHash) {
      if (s.expiresAt + REMEMBER_EXPIRED_MS <= now) {
        this.#byHash.delete(hash)
        changed = true
      }
    }
    if (changed) this.#save()
  }

  #load(): void {
    if (!this.#path) return
    const now = this.#now()
    for (const s of readSavedList(this.#path)) {
      // A damaged entry is dropped (its link stops working), never trusted half-read.
      if (!isShareRecord(s) || s.expiresAt + REMEMBER_EXPIRED_MS <= now) continue
      this.#byHash.set(s.hash, s)
    }
  }

  #save(): void {
    if (!this.#path) return
    writeSavedList(this.#path, [...this.#byHash.values()])
  }
}

function isShareRecord(s: unknown): s is ShareRecord {
  const r = s as ShareRecord
  return (
    typeof r === 'object' && r !== null &&
    typeof r.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(r.id) &&
    typeof r.hash === 'string' && /^[0-9a-f]{64}$/.test(r.hash) &&
    typeof r.app === 'string' && typeof r.createdAt === 'number' && typeof r.expiresAt === 'number' &&
    typeof r.viewOnly === 'boolean' && (r.maxDevices === null || (Number.isInteger(r.maxDevices) && r.maxDevices > 0)) &&
    Number.isInteger(r.opened) && typeof r.createdBy === 'string'
  )
}
