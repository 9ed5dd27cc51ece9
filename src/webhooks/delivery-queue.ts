/**
 * One webhook's outbox: a bounded queue drained by one worker, so events reach a receiver in
 * order and a slow receiver never holds up a request. `enqueue` is synchronous and O(1)-ish;
 * when the queue is full the oldest waiting event is dropped (and counted), so memory never
 * grows without limit. Each event is tried up to `maxAttempts` times: a network error, a
 * timeout, 408, 429 or 5xx is retried after `backoffMs(attempt)`; any other answer (a 4xx, a
 * redirect) is final. Clock, sleep and fetch are injected so tests need no long waits.
 */
import type { Delivery } from './document.ts'

export interface QueueOptions {
  url: string
  headers(d: Delivery): Record<string, string>
  fetch: typeof fetch
  /** Waiting events kept at most (the one being delivered is not counted). */
  maxQueue: number
  maxAttempts: number
  /** Delay before the retry that follows failed attempt number `attempt` (1-based). */
  backoffMs(attempt: number): number
  timeoutMs: number
  now(): number
  sleep(ms: number, signal: AbortSignal): Promise<void>
  /** Called once per event when it is given up, with why (never the body). */
  onFailure?(d: Delivery, last: LastDelivery): void
  /** Called when the queue starts dropping events (once per burst). */
  onDrop?(dropped: number): void
}

export interface LastDelivery {
  id: string
  event: string
  /** ISO time the outcome was known. */
  at: string
  ok: boolean
  /** HTTP status of the last attempt, or null when none came back. */
  status: number | null
  error: string | null
  attempts: number
}

export interface QueueStatus {
  queued: number
  inFlight: boolean
  delivered: number
  failed: number
  dropped: number
  lastDelivery: LastDelivery | null
}

type Outcome = { ok: true; status: number } | { ok: false; status: number | null; error: string; retry: boolean }

export class DeliveryQueue {
  #items: Delivery[] = []
  #inFlight = false
  #delivered = 0
  #failed = 0
  #dropped = 0
  #dropWarned = false
  #last: LastDelivery | null = null
  #stop = new AbortController()
  #idle: Promise<void> = Promise.resolve()

  constructor(private readonly o: QueueOptions) {}

  /** Add an event; never waits. The oldest waiting event makes room when full. */
  enqueue(d: Delivery): void {
    if (this.#stop.signal.aborted) return
    if (this.#items.length >= this.o.maxQueue) {
      this.#items.shift()
      this.#dropped++
      if (!this.#dropWarned) {
        this.#dropWarned = true
        this.o.onDrop?.(this.#dropped)
      }
    }
    this.#items.push(d)
    if (!this.#inFlight) this.#idle = this.#drain()
  }

  status(): QueueStatus {
    return {
      queued: this.#items.length,
      inFlight: this.#inFlight,
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: this.#dropped,
      lastDelivery: this.#last,
    }
  }

  /** Resolves when the queue is empty and nothing is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight) await this.#idle
  }

  /** Stop: abort what is in flight, forget what waits. */
  stop(): void {
    this.#stop.abort()
    this.#items = []
  }

  async #drain(): Promise<void> {
    this.#inFlight = true
    try {
      while (this.#items.length > 0 && !this.#stop.signal.aborted) {
        await this.#deliver(this.#items.shift()!)
      }
    } finally {
      this.#inFlight = false
      this.#dropWarned = false
    }
  }

  async #deliver(d: Delivery): Promise<void> {
    let outcome: Outcome = { ok: false, status: null, error: 'not attempted', retry: false }
    let attempts = 0
    while (attempts < this.o.maxAttempts && !this.#stop.signal.aborted) {
      attempts++
      outcome = await this.#attempt(d)
      if (outcome.ok || !outcome.retry || attempts >= this.o.maxAttempts) break
      await this.o.sleep(this.o.backoffMs(attempts), this.#stop.signal).catch(() => {})
    }
    if (this.#stop.signal.aborted && !outcome.ok) return
    this.#last = {
      id: d.id,
      event: d.event,
      at: new Date(this.o.now()).toISOString(),
      ok: outcome.ok,
      status: outcome.status,
      error: outcome.ok ? null : outcome.error,
      attempts,
    }
    if (outcome.ok) this.#delivered++
    else {
      this.#failed++
      this.o.onFailure?.(d, this.#last)
    }
  }

  async #attempt(d: Delivery): Promise<Outcome> {
    const ctl = new AbortController()
    const onStop = () => ctl.abort()
    this.#stop.signal.addEventListener('abort', onStop, { once: true })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ctl.abort()
    }, this.o.timeoutMs)
    try {
      const res = await this.o.fetch(this.o.url, { method: 'POST', headers: this.o.headers(d), body: d.body, redirect: 'manual', signal: ctl.signal })
      // The receiver's answer is not ours to keep.
      await res.body?.cancel().catch(() => {})
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status }
      const retry = res.status === 408 || res.status === 429 || res.status >= 500
      const error = res.status >= 300 && res.status < 400 ? `HTTP ${res.status}: redirects are not followed (point url at the final address)` : `HTTP ${res.status}`
      return { ok: false, status: res.status, error, retry }
    } catch (err) {
      if (timedOut) return { ok: false, status: null, error: `no answer within ${this.o.timeoutMs} ms`, retry: true }
      // Only the error's code: runtime messages can quote the URL, whose query may be private.
      const code = (err as { code?: unknown })?.code
      return { ok: false, status: null, error: `cannot connect${typeof code === 'string' ? ` (${code})` : ''}`, retry: true }
    } finally {
      clearTimeout(timer)
      this.#stop.signal.removeEventListener('abort', onStop)
    }
  }
}

/** Exponential backoff: base, 2×base, 4×base… capped at one minute. */
export function exponentialBackoff(baseMs: number): (attempt: number) => number {
  return (attempt) => Math.min(60_000, baseMs * 2 ** (attempt - 1))
}

/** A sleep that ends early (resolves) when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
