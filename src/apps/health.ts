/**
 * Background health checks: every app's target is asked for `/` on a timer; any HTTP answer
 * (even 404 or 500) means something is serving there, no answer means down. The proxy
 * reports failures too, so a dead app shows as down before the next round.
 */
import type { AppEntry } from './registry.ts'

export interface AppHealth {
  state: 'unknown' | 'up' | 'down'
  /** ISO time of the last check. */
  checkedAt: string | null
  latencyMs: number | null
  /** Why it is down, in words (never a secret: targets are local addresses). */
  error: string | null
}

const UNKNOWN: AppHealth = { state: 'unknown', checkedAt: null, latencyMs: null, error: null }

export class HealthMonitor {
  #health = new Map<string, AppHealth>()
  #targets = new Map<string, string>()
  #timer: ReturnType<typeof setInterval> | null = null
  #inFlight = new Set<string>()

  constructor(private readonly opts: { intervalMs: number; timeoutMs: number }) {}

  /** Follow the app list: new apps are checked at once, removed ones forgotten. */
  sync(apps: readonly AppEntry[]): void {
    const names = new Set(apps.map((a) => a.spec.name))
    for (const name of [...this.#targets.keys()]) {
      if (!names.has(name)) {
        this.#targets.delete(name)
        this.#health.delete(name)
      }
    }
    for (const app of apps) {
      const changed = this.#targets.get(app.spec.name) !== app.spec.target
      this.#targets.set(app.spec.name, app.spec.target)
      if (changed) {
        this.#health.set(app.spec.name, UNKNOWN)
        void this.check(app.spec.name)
      }
    }
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      for (const name of this.#targets.keys()) void this.check(name)
    }, this.opts.intervalMs)
    // A health timer alone must not keep the process alive.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
  }

  get(name: string): AppHealth {
    return this.#health.get(name) ?? UNKNOWN
  }

  /** Record what the proxy saw (an answer, or a failure) without waiting for the next round. */
  report(name: string, ok: boolean, error?: string): void {
    if (!this.#targets.has(name)) return
    const prev = this.get(name)
    if (ok && prev.state === 'up') return
    this.#health.set(name, { state: ok ? 'up' : 'down', checkedAt: new Date().toISOString(), latencyMs: prev.latencyMs, error: ok ? null : (error ?? 'no answer') })
  }

  /** Check one app now. */
  async check(name: string): Promise<AppHealth> {
    const target = this.#targets.get(name)
    if (!target || this.#inFlight.has(name)) return this.get(name)
    this.#inFlight.add(name)
    const started = performance.now()
    let next: AppHealth
    try {
      const res = await fetch(target + '/', { redirect: 'manual', signal: AbortSignal.timeout(this.opts.timeoutMs), headers: { 'user-agent': 'latchkey-health' } })
      void res.body?.cancel().catch(() => {})
      next = { state: 'up', checkedAt: new Date().toISOString(), latencyMs: Math.round(performance.now() - started), error: null }
    } catch (err) {
      const text = String((err as Error)?.name === 'TimeoutError' ? 'timeout' : ((err as { code?: string })?.code ?? (err as Error)?.message ?? err))
      const error = /timeout/i.test(text) ? `no answer within ${this.opts.timeoutMs} ms` : /refused/i.test(text) ? 'connection refused (nothing is listening)' : `unreachable (${text.slice(0, 80)})`
      next = { state: 'down', checkedAt: new Date().toISOString(), latencyMs: null, error }
    } finally {
      this.#inFlight.delete(name)
    }
    if (this.#targets.get(name) === target) this.#health.set(name, next)
    return next
  }
}
