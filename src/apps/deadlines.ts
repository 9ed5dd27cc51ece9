/**
 * Bounds for upstream exchanges without a timer per request: one sweep every TICK_MS while
 * any exchange is waiting. A per-request setTimeout/clearTimeout pair (and an abort listener
 * on the client's request) cost more than the rest of a small proxied request's own work;
 * the sweep costs nothing per request and ends a stuck exchange at most one tick late.
 */

/** One exchange that is waiting on the upstream. */
export interface Watched {
  /** performance.now() value after which the exchange has been silent too long. */
  deadline: number
  /** Whether the client has gone away (read only for exchanges older than one tick). */
  clientGone(): boolean
  /** Called once, then the exchange is forgotten. */
  expire(why: 'timeout' | 'client'): void
}

export const TICK_MS = 100

export class Deadlines {
  #watched = new Set<Watched>()
  #timer: ReturnType<typeof setInterval> | null = null
  #tickMs: number

  constructor(tickMs = TICK_MS) {
    this.#tickMs = tickMs
  }

  add(w: Watched): void {
    this.#watched.add(w)
    this.#timer ??= setInterval(() => this.#sweep(), this.#tickMs)
  }

  delete(w: Watched): void {
    this.#watched.delete(w)
  }

  get size(): number {
    return this.#watched.size
  }

  #sweep(): void {
    const now = performance.now()
    for (const w of this.#watched) {
      // Most small requests are answered before any sweep sees them, so they never pay for
      // asking whether the client left (the first look at a request's signal creates it).
      const why = now >= w.deadline ? 'timeout' : w.clientGone() ? 'client' : null
      if (why) {
        this.#watched.delete(w)
        w.expire(why)
      }
    }
    if (this.#watched.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }
}
