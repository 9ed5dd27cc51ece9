/**
 * Bounds for upstream exchanges without a timer per request: one sweep every TICK_MS while
 * any exchange is waiting. A per-request setTimeout/clearTimeout pair (and an abort listener
 * on the client's request) cost more than the rest of a small proxied request's own work;
 * the sweep costs nothing per request and ends a stuck exchange at most one tick late.
 *
 * The waiting exchanges form a doubly linked list through their own fields: adding and
 * removing one is a few pointer writes (a Set of short-lived objects measured several µs
 * per request under load, in CPU time, on Bun).
 */

/** One exchange that is waiting on the upstream. */
export interface Watched {
  /** performance.now() value after which the exchange has been silent too long. */
  deadline: number
  /** Whether the client has gone away. */
  clientGone(): boolean
  /** Called once, then the exchange is forgotten. */
  expire(why: 'timeout' | 'client'): void
  /** The list's links: null when not in a list. */
  prev: Watched | null
  next: Watched | null
}

export const TICK_MS = 100

export class Deadlines {
  #head: Watched | null = null
  #size = 0
  #timer: ReturnType<typeof setInterval> | null = null
  readonly #tickMs: number

  constructor(tickMs = TICK_MS) {
    this.#tickMs = tickMs
  }

  add(w: Watched): void {
    w.prev = null
    w.next = this.#head
    if (this.#head) this.#head.prev = w
    this.#head = w
    this.#size++
    this.#timer ??= setInterval(() => this.#sweep(), this.#tickMs)
  }

  /** Forget `w`; nothing happens if it is not (or no longer) in the list. */
  delete(w: Watched): void {
    if (w.prev === null && this.#head !== w) return
    if (w.prev) w.prev.next = w.next
    else this.#head = w.next
    if (w.next) w.next.prev = w.prev
    w.prev = w.next = null
    this.#size--
  }

  get size(): number {
    return this.#size
  }

  #sweep(): void {
    const now = performance.now()
    for (let w = this.#head; w !== null; ) {
      const next = w.next
      // Most small requests are answered before any sweep sees them, so they never pay for
      // asking whether the client left (the first look at a request's signal creates it).
      const why = now >= w.deadline ? 'timeout' : w.clientGone() ? 'client' : null
      if (why) {
        this.delete(w)
        w.expire(why)
      }
      w = next
    }
    if (this.#size === 0 && this.#timer !== null) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }
}
