/**
 * Limits on guessing: wrong credentials are counted per client address (10 a minute, then
 * 429 with Retry-After); the local user (loopback per the guard) is never counted.
 *
 * Tunnel traffic arrives from 127.0.0.1 but is not local: it is counted by the client
 * address the tunnel reports (Cf-Connecting-Ip, X-Forwarded-For; see clientAddress()) and
 * also against one budget for the whole ingress, because any local process can reach the
 * ingress port and claim a fresh address on every request.
 *
 * The limits slow wrong guesses only. A valid credential is always checked and admitted,
 * even from a client or through a tunnel that is over budget: otherwise a few guessers
 * behind one tunnel would lock every real user of it out. A success never resets a
 * client's count either, so a valid low-privilege link cannot buy more guesses at the
 * access token. What counts as a guess is identify()'s call (`failedCredential`): a
 * latchkey credential that matched nothing, on a request nothing else admitted.
 */
import { ApiError } from '../errors.ts'
import type { Caller } from './identify.ts'
import { isTunnelIngress, type Connection } from './connection.ts'
import { requestState } from './request-state.ts'
import { BoundedMap } from '../tokens/bounded-map.ts'
import { clientKey } from '../net/ip.ts'

export interface Budget {
  /** Failed attempts allowed per window. */
  limit: number
  windowMs: number
}

export const PER_CLIENT: Budget = { limit: 10, windowMs: 60_000 }
export const PER_INGRESS: Budget = { limit: 60, windowMs: 60_000 }
/** Client addresses tracked at most; the oldest window is dropped beyond it. */
export const MAX_TRACKED = 20_000

/** Who made an attempt, as the guard sees it. */
export interface Attempt {
  address: string
  local: boolean
  /** The tunnel ingress it came through, or null for a direct listener. */
  ingress: string | null
}

interface Window {
  count: number
  resetAt: number
}

/** Fixed windows per key, starting at the first failure. */
class Windows {
  #m = new BoundedMap<string, Window>(MAX_TRACKED)
  constructor(readonly budget: Budget) {}

  waitMs(key: string, now: number): number {
    const w = this.#m.get(key)
    if (!w) return 0
    if (w.resetAt <= now) {
      this.#m.delete(key)
      return 0
    }
    return w.count >= this.budget.limit ? w.resetAt - now : 0
  }

  hit(key: string, now: number): void {
    let w = this.#m.get(key)
    if (!w || w.resetAt <= now) {
      this.#m.delete(key)
      // Beyond MAX_TRACKED the oldest window goes (BoundedMap.set): windows are created in
      // clock order with one length, so the oldest is also the first to end.
      w = { count: 0, resetAt: now + this.budget.windowMs }
      this.#m.set(key, w)
    }
    w.count++
  }

  clear(key: string): void {
    this.#m.delete(key)
  }

  get size(): number {
    return this.#m.size
  }
}

export class GuessLimiter {
  #clients: Windows
  #ingress: Windows
  #now: () => number

  constructor(opts: { perClient?: Budget; perIngress?: Budget; now?: () => number } = {}) {
    this.#clients = new Windows(opts.perClient ?? PER_CLIENT)
    this.#ingress = new Windows(opts.perIngress ?? PER_INGRESS)
    this.#now = opts.now ?? Date.now
  }

  /** Milliseconds until `a` may present a credential again; 0 when it may now. */
  retryAfterMs(a: Attempt): number {
    if (a.local) return 0
    const now = this.#now()
    const client = this.#clients.waitMs(clientKey(a.address), now)
    const ingress = a.ingress ? this.#ingress.waitMs(a.ingress, now) : 0
    return Math.max(client, ingress)
  }

  failed(a: Attempt): void {
    if (a.local) return
    const now = this.#now()
    this.#clients.hit(clientKey(a.address), now)
    if (a.ingress) this.#ingress.hit(a.ingress, now)
  }

  /** The 429 for a wait of `waitMs` (from retryAfterMs), or null when there is none. */
  refusal(waitMs: number, a: Attempt): ApiError | null {
    if (waitMs <= 0) return null
    const seconds = Math.max(1, Math.ceil(waitMs / 1000))
    const where = a.ingress && this.#clients.waitMs(clientKey(a.address), this.#now()) === 0 ? 'through this tunnel' : 'from this address'
    return new ApiError(429, 'too_many_attempts', `Too many failed sign-in attempts ${where}: try again in ${seconds} seconds`, undefined, {
      'retry-after': String(seconds),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    })
  }

  /**
   * The guard's one call, after identify(): a wrong guess is counted, or refused with a 429
   * once over budget; anything else passes. Once per request.
   */
  account(request: Request, caller: Caller, conn: Connection): ApiError | null {
    const state = requestState(request)
    if (state.accounted !== undefined) return state.accounted
    let result: ApiError | null = null
    if (caller.failedCredential && !caller.local) {
      const a = attemptOf(caller, conn)
      result = this.refusal(this.retryAfterMs(a), a)
      if (!result) this.failed(a)
    }
    state.accounted = result
    return result
  }

  /** Client windows currently tracked (bounded by MAX_TRACKED). */
  get trackedCount(): number {
    return this.#clients.size
  }
}

/** The Attempt of a caller on a connection. */
export function attemptOf(caller: Caller, conn: Connection): Attempt {
  return { address: caller.address, local: caller.local, ingress: isTunnelIngress(conn) ? conn.listener : null }
}
