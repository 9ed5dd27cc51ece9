/**
 * What latchkey counts, for GET /metrics: requests by listener and status, guard decisions,
 * app traffic, plus what is read at scrape time (sessions, tunnel, app health, webhooks, the
 * build). The hot paths call the hooks below, which find a cell once per label set and then
 * only add to it. Labels are bounded: apps by name (never paths), statuses as three digits,
 * and whatever else comes from latchkey's own code; no secret or session id is ever a label.
 */
import { CounterCell, HistogramCell, OVERFLOW, type Sample } from './families.ts'
import { Registry } from './registry.ts'
import { CONTENT_TYPE } from './exposition.ts'

export { CONTENT_TYPE }

/** A guard decision: admitted, or the status it was refused with (401, 403, 429…). */
export type GuardOutcome = 'admitted' | number

/** What a scrape reads from the running latchkey (src/api/metrics.ts fills it in). */
export interface ScrapeSources {
  sessions(): Iterable<{ role: string; issuer: string }>
  tunnel(): { provider: string | null; state: string; states: readonly string[]; restarts: number }
  apps(): Iterable<{ name: string; health: string }>
  webhooks(): Iterable<{ id: number; delivered: number; failed: number; dropped: number }>
}

export interface BuildInfo {
  version: string
  commit: string
  runtime: string
  /** When the process started, in ms since the epoch (default: performance.timeOrigin). */
  startedAt?: number
}

/** Seconds; a local app answers in about a millisecond, a long poll may wait 5 minutes. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
const APP_HEALTH = ['up', 'down', 'unknown']
/** Apps kept apart before the rest share `_other` (apps are named by admins, not by clients). */
const MAX_APPS = 200

/** An HTTP status as a label: three digits, or `_other` for anything else. */
export function codeLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : OVERFLOW
}

/** What issued a session ("short-lived:ab12" → "short-lived"); never the id after the colon. */
export function sessionKind(issuer: string): string {
  const kind = issuer.split(':', 1)[0]
  return /^[a-z][a-z0-9-]{0,31}$/.test(kind) ? kind : OVERFLOW
}

interface AppCells {
  byCode: Map<number, CounterCell>
  bytes: CounterCell
  latency: HistogramCell
}

export class LatchkeyMetrics {
  readonly registry = new Registry()
  #scrape: ScrapeSources | null = null
  readonly #requests
  readonly #guard
  readonly #guardCells = new Map<string, Map<GuardOutcome, CounterCell>>()
  readonly #appRequests
  readonly #appBytes
  readonly #appLatency
  readonly #apps = new Map<string, AppCells>()

  constructor(build: BuildInfo) {
    const r = this.registry
    const startedAt = build.startedAt ?? performance.timeOrigin
    r.gauge('latchkey_build_info', 'The running latchkey: version, commit and runtime (always 1)', ['version', 'commit', 'runtime'], () => [[[build.version, build.commit, build.runtime], 1]])
    r.gauge('process_start_time_seconds', 'When the latchkey process started, in seconds since the Unix epoch', [], () => [[[], Math.round(startedAt) / 1000]])
    this.#requests = r.counter('latchkey_http_requests_total', 'Requests answered, by listener and HTTP status', ['listener', 'code'])
    this.#guard = r.counter('latchkey_guard_decisions_total', 'Guard decisions on guarded requests, by how the caller was identified and the outcome (admitted, or the refusal status)', ['via', 'outcome'])
    r.gauge('latchkey_active_sessions', 'Signed-in device sessions, by role and what issued them', ['role', 'kind'], () => this.#sessions())
    r.gauge('latchkey_tunnel_state', 'The tunnel\'s state: 1 for the current one, 0 for the others', ['provider', 'state'], () => this.#tunnelState())
    r.collectedCounter('latchkey_tunnel_restarts_total', 'Automatic restarts of a tunnel that exited while running', [], () => [[[], this.#sources().tunnel().restarts]])
    this.#appRequests = r.counter('latchkey_app_requests_total', 'Requests to each app (refusals included), by HTTP status', ['app', 'code'])
    this.#appBytes = r.counter('latchkey_app_response_bytes_total', 'Response body bytes sent to clients from each app', ['app'], MAX_APPS)
    this.#appLatency = r.histogram('latchkey_app_request_duration_seconds', 'Time from request to response (to the end of the body when its length was not declared), per app', ['app'], LATENCY_BUCKETS, MAX_APPS)
    r.gauge('latchkey_app_health', 'Each app\'s health check: 1 for its current state (up, down, unknown), 0 for the others', ['app', 'state'], () => this.#appHealth())
    const hooks = () => this.#sources().webhooks()
    r.collectedCounter('latchkey_webhook_deliveries_total', 'Webhook events delivered (answered 2xx), by webhook', ['webhook'], () => [...hooks()].map((h) => [[String(h.id)], h.delivered]))
    r.collectedCounter('latchkey_webhook_failures_total', 'Webhook events given up after their last attempt, by webhook', ['webhook'], () => [...hooks()].map((h) => [[String(h.id)], h.failed]))
    r.collectedCounter('latchkey_webhook_dropped_total', 'Webhook events dropped from a full queue, by webhook', ['webhook'], () => [...hooks()].map((h) => [[String(h.id)], h.dropped]))
  }

  /** The counting function of one listener: call it with each answer's status. */
  requests(listener: string): (status: number) => void {
    const cells = new Map<number, CounterCell>()
    return (status) => {
      let cell = cells.get(status)
      if (!cell) cells.set(status, (cell = this.#requests.labels(listener, codeLabel(status))))
      cell.value++
    }
  }

  /** One guard decision (a function value: the guard gets it as its `decided` hook). */
  readonly guardDecision = (via: string, outcome: GuardOutcome): void => {
    let byOutcome = this.#guardCells.get(via)
    if (!byOutcome) this.#guardCells.set(via, (byOutcome = new Map()))
    let cell = byOutcome.get(outcome)
    if (!cell) byOutcome.set(outcome, (cell = this.#guard.labels(via, outcome === 'admitted' ? outcome : codeLabel(outcome))))
    cell.value++
  }

  /** One app request, as the access log records it. */
  appRequest(app: string, status: number, bytes: number, seconds: number): void {
    let cells = this.#apps.get(app)
    if (!cells) {
      cells = { byCode: new Map(), bytes: this.#appBytes.labels(app), latency: this.#appLatency.labels(app) }
      this.#apps.set(app, cells)
    }
    let byCode = cells.byCode.get(status)
    if (!byCode) cells.byCode.set(status, (byCode = this.#appRequests.labels(app, codeLabel(status))))
    byCode.value++
    cells.bytes.value += bytes
    cells.latency.observe(seconds)
  }

  /** The text of one scrape. */
  scrape(sources: ScrapeSources): string {
    this.#scrape = sources
    try {
      return this.registry.render()
    } finally {
      this.#scrape = null
    }
  }

  #sources(): ScrapeSources {
    if (!this.#scrape) throw new Error('metrics read outside a scrape')
    return this.#scrape
  }

  *#sessions(): Iterable<Sample> {
    const counts = new Map<string, { role: string; kind: string; n: number }>()
    for (const s of this.#sources().sessions()) {
      const role = s.role === 'admin' || s.role === 'viewer' ? s.role : OVERFLOW
      const kind = sessionKind(s.issuer)
      const key = `${role} ${kind}`
      const entry = counts.get(key)
      if (entry) entry.n++
      else counts.set(key, { role, kind, n: 1 })
    }
    for (const { role, kind, n } of counts.values()) yield [[role, kind], n]
  }

  *#tunnelState(): Iterable<Sample> {
    const t = this.#sources().tunnel()
    const provider = t.provider ?? 'none'
    for (const state of t.states) yield [[provider, state], state === t.state ? 1 : 0]
  }

  *#appHealth(): Iterable<Sample> {
    let n = 0
    for (const app of this.#sources().apps()) {
      if (n++ >= MAX_APPS) return
      const current = APP_HEALTH.includes(app.health) ? app.health : 'unknown'
      for (const state of APP_HEALTH) yield [[app.name, state], state === current ? 1 : 0]
    }
  }
}
