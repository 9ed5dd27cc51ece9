/**
 * How many devices may be signed in at once, and who gives way when a bound is reached, so
 * that opening one shared link in a loop cannot sign anyone else out (least of all the
 * operator):
 *
 * - per credential (the session's `issuer`): that credential's own least recently seen
 *   device is signed out, so only holders of the same link are affected;
 * - per client address (`clientKey`: IPv4 as is, IPv6 by /64): the new sign-in is refused
 *   and nothing is signed out. Viewers never count against an admin signing in;
 * - overall: the least recently seen viewer is signed out; an admin never is, and when
 *   every device is an admin the new sign-in is refused.
 *
 * Indexes keep each decision cheap: sets per issuer and per address (small, by the bounds
 * above) and a queue of viewers by last use, so no decision walks every session.
 */
import { ApiError } from '../errors.ts'
import { clientKey } from '../net/ip.ts'
import type { GrantedRole, SessionRecord } from './sessions.ts'

/** Devices signed in at once, in all; keeps memory and the device list finite. */
export const MAX_SESSIONS = 10_000
/** Devices one link or token may hold: a family's or a team's devices fit, a loop does not. */
export const MAX_SESSIONS_PER_ISSUER = 100
/** Devices signed in from one address: a household or office behind one NAT fits. */
export const MAX_SESSIONS_PER_ADDRESS = 20

/** What a new session must make room for. */
export interface Newcomer {
  role: GrantedRole
  issuer: string
  address: string
}

/** Sessions to sign out before adding the newcomer, or why it cannot be added. */
export type Room = { evict: SessionRecord[] } | { refused: ApiError }

export class SessionBounds {
  #byIssuer = new Map<string, Set<SessionRecord>>()
  #byAddress = new Map<string, Set<SessionRecord>>()
  #viewers = new Set<SessionRecord>()
  // Viewers in the order they were last seen, each with the lastSeenAt it was queued at; an
  // entry whose session moved on (seen again, or gone) is stale and skipped.
  #queue: { s: SessionRecord; seen: number }[] = []
  #head = 0

  add(s: SessionRecord): void {
    addTo(this.#byIssuer, s.issuer, s)
    if (s.address !== undefined) addTo(this.#byAddress, clientKey(s.address), s)
    if (s.role === 'viewer') {
      this.#viewers.add(s)
      this.touched(s)
    }
  }

  delete(s: SessionRecord): void {
    deleteFrom(this.#byIssuer, s.issuer, s)
    if (s.address !== undefined) deleteFrom(this.#byAddress, clientKey(s.address), s)
    this.#viewers.delete(s)
  }

  /** Note a new lastSeenAt (called on every lookup, so it only appends). */
  touched(s: SessionRecord): void {
    if (s.role !== 'viewer') return
    this.#queue.push({ s, seen: s.lastSeenAt })
    if (this.#queue.length > 2 * this.#viewers.size + 1024) this.#compact()
  }

  /** Decide what gives way for `n` (see the module comment); `total` is the live count. */
  room(n: Newcomer, total: number, now: number): Room {
    const fromAddress = this.#byAddress.get(clientKey(n.address))
    if (fromAddress) {
      // Viewers sharing an admin's address (a café, an office) cannot lock the admin out.
      const counted = [...fromAddress].filter((s) => s.expiresAt > now && (n.role === 'viewer' || s.role === 'admin')).length
      if (counted >= MAX_SESSIONS_PER_ADDRESS) {
        return {
          refused: new ApiError(
            429,
            'too_many_devices',
            `Cannot sign in another device from this address: ${counted} devices are signed in from it; sign one out from Devices on the dashboard, or wait until one expires`,
          ),
        }
      }
    }
    const evict: SessionRecord[] = []
    const sameIssuer = this.#byIssuer.get(n.issuer)
    if (sameIssuer && sameIssuer.size >= MAX_SESSIONS_PER_ISSUER) {
      evict.push(leastRecentlySeen(sameIssuer)!)
      return { evict }
    }
    if (total < MAX_SESSIONS) return { evict }
    const viewer = this.#oldestViewer()
    if (viewer) return { evict: [viewer] }
    return {
      refused: new ApiError(
        503,
        'too_many_sessions',
        `Cannot sign in another device: ${total} devices are signed in, all of them admins; sign some out from Devices on the dashboard, or wait until one expires`,
      ),
    }
  }

  #oldestViewer(): SessionRecord | undefined {
    while (this.#head < this.#queue.length) {
      const { s, seen } = this.#queue[this.#head]
      if (this.#viewers.has(s) && s.lastSeenAt === seen) return s
      this.#head++
    }
    return undefined
  }

  /** Drop stale entries; keeps the queue within about twice the number of viewers. */
  #compact(): void {
    this.#queue = this.#queue.slice(this.#head).filter(({ s, seen }) => this.#viewers.has(s) && s.lastSeenAt === seen)
    this.#head = 0
  }
}

function addTo(index: Map<string, Set<SessionRecord>>, key: string, s: SessionRecord): void {
  const set = index.get(key)
  if (set) set.add(s)
  else index.set(key, new Set([s]))
}

function deleteFrom(index: Map<string, Set<SessionRecord>>, key: string, s: SessionRecord): void {
  const set = index.get(key)
  if (set?.delete(s) && set.size === 0) index.delete(key)
}

function leastRecentlySeen(sessions: Iterable<SessionRecord>): SessionRecord | undefined {
  let oldest: SessionRecord | undefined
  for (const s of sessions) if (!oldest || s.lastSeenAt < oldest.lastSeenAt) oldest = s
  return oldest
}
