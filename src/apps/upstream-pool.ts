/**
 * The keep-alive connections to one app origin, shared by every request to it, and bounded:
 * at most `maxTotal` open or opening (more requests wait in line for the next one free), at
 * most `maxIdle` idle, and an idle one closes after `idleMs`: before the app's own
 * keep-alive timeout would (Node's and uvicorn's are 5 s, gunicorn's 2 s), so the app
 * seldom closes one just as a request goes out on it (upstream-client.ts retries that
 * case once, for idempotent requests).
 *
 * Note: maxIdle is maxTotal by default. A smaller idle cap closes connections whenever load
 * dips and opens new ones when it returns; under steady load that churns ephemeral ports
 * into TIME_WAIT, which is how fetch-based Bun proxies fail past about 200 concurrent
 * clients. The idle timeout shrinks the pool instead, once the load has gone.
 */
import type { TcpConnection, TcpEvents } from '../runtime/index.ts'
import { UpstreamConnection, type ConnectionOwner } from './upstream-connection.ts'

export interface PoolLimits {
  maxTotal: number
  maxIdle: number
  idleMs: number
}

export const POOL_LIMITS: PoolLimits = { maxTotal: 512, maxIdle: 512, idleMs: 1000 }

/** A request waiting for a connection. */
export interface Waiter {
  granted(conn: UpstreamConnection): void
  /** No connection could be opened (`err` as the runtime's connect gave it). */
  refused(err: Error): void
}

export class UpstreamPool implements ConnectionOwner {
  /** Idle connections, the most recently used last (taken first: it is the warmest). */
  readonly #idle: UpstreamConnection[] = []
  #open = 0
  readonly #queue: Waiter[] = []
  #timer: ReturnType<typeof setInterval> | null = null

  /** `host`: the Host header for this origin; `dial` opens a connection to it. */
  constructor(
    readonly host: string,
    private readonly dial: (events: TcpEvents) => Promise<TcpConnection>,
    readonly limits: PoolLimits = POOL_LIMITS,
  ) {}

  /** Connections open or opening, idle, and requests waiting for one. */
  get stats(): { open: number; idle: number; waiting: number } {
    return { open: this.#open, idle: this.#idle.length, waiting: this.#queue.length }
  }

  /** Give `w` a connection: an idle one, else a new one, else the next one free. `fresh`: not an idle one. */
  acquire(w: Waiter, fresh = false): void {
    if (!fresh) {
      const conn = this.#idle.pop()
      if (conn !== undefined) return w.granted(conn)
    }
    if (this.#open < this.limits.maxTotal) return this.#connect(w)
    this.#queue.push(w)
  }

  /** A waiter that gave up leaves the line (nothing happens if it is not in it). */
  withdraw(w: Waiter): void {
    const i = this.#queue.indexOf(w)
    if (i !== -1) this.#queue.splice(i, 1)
  }

  reusable(conn: UpstreamConnection): void {
    const next = this.#queue.shift()
    if (next !== undefined) return next.granted(conn)
    if (this.#idle.length >= this.limits.maxIdle) return conn.destroy()
    conn.idleSince = performance.now()
    this.#idle.push(conn)
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#sweep(), this.limits.idleMs / 4)
      // Idle connections alone must not keep the process alive.
      ;(this.#timer as { unref?(): void }).unref?.()
    }
  }

  closed(conn: UpstreamConnection): void {
    this.#open--
    const i = this.#idle.lastIndexOf(conn)
    if (i !== -1) this.#idle.splice(i, 1)
    // Room for one more: the first in line opens its own.
    if (this.#queue.length > 0 && this.#open < this.limits.maxTotal) this.#connect(this.#queue.shift()!)
  }

  #connect(w: Waiter): void {
    this.#open++
    const conn = new UpstreamConnection(this)
    this.dial(conn).then(
      (socket) => {
        conn.attach(socket)
        w.granted(conn)
      },
      (err: Error) => {
        this.#open--
        w.refused(err)
      },
    )
  }

  /** Close the connections idle longer than idleMs (the oldest are first in the list). */
  #sweep(): void {
    const cutoff = performance.now() - this.limits.idleMs
    let stale = 0
    while (stale < this.#idle.length && this.#idle[stale].idleSince <= cutoff) stale++
    for (const conn of this.#idle.splice(0, stale)) conn.destroy()
    if (this.#idle.length === 0 && this.#timer !== null) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }
}
