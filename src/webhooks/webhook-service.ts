/**
 * The `webhooks` service: one DeliveryQueue per configured webhook. `emit` builds the event's
 * document once and hands it to every webhook that asked for that event; it never waits and
 * never throws, so a request that causes an event is not slowed by a receiver. The secrets
 * are registered with the logger and used only to sign.
 */
import { hostname } from 'node:os'
import type { Logger } from '../log.ts'
import { buildDelivery, deliveryHeaders, type EventName, type Who } from './document.ts'
import { DeliveryQueue, abortableSleep, exponentialBackoff, type QueueStatus } from './delivery-queue.ts'
import { displayUrl, readWebhookSecret, type WebhookSpec } from './webhook-config.ts'

export const DEFAULT_MAX_QUEUE = 100
export const DEFAULT_MAX_ATTEMPTS = 5

export interface WebhookServiceOptions {
  log: Logger
  version: string
  /** First retry delay; doubles per attempt. */
  retryBaseMs: number
  maxAttempts?: number
  maxQueue?: number
  timeoutMs?: number
  fetch?: typeof fetch
  now?: () => number
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

interface Hook {
  index: number
  spec: WebhookSpec
  secret: string | null
  signed: boolean
  queue: DeliveryQueue
}

export interface WebhookEntry {
  spec: WebhookSpec
  secret: string | null
}

/** Every webhook with its secret read (a ConfigError when a secret file is missing or empty). */
export function readWebhookSecrets(specs: readonly WebhookSpec[]): WebhookEntry[] {
  return specs.map((spec, i) => ({ spec, secret: readWebhookSecret(spec, i) }))
}

export interface WebhookView extends QueueStatus {
  id: number
  url: string
  events: string[]
  signed: boolean
}

export class WebhookService {
  #hooks: Hook[]
  #retryBaseMs: number
  readonly #now: () => number
  readonly #instance = hostname()

  /** Build from specs whose secrets are already read (see `fromConfig`). */
  constructor(entries: WebhookEntry[], private readonly o: WebhookServiceOptions) {
    this.#now = o.now ?? Date.now
    this.#retryBaseMs = o.retryBaseMs
    this.#hooks = entries.map((entry, index) => this.#hook(entry, index))
  }

  #hook({ spec, secret }: WebhookEntry, index: number): Hook {
    const o = this.o
    o.log.addSecret(secret)
    const shown = displayUrl(spec.url)
    // The queue's log lines read hook.index: a reload may move the webhook in the list.
    const hook = { index, spec, secret, signed: secret !== null } as Hook
    hook.queue = new DeliveryQueue({
      url: spec.url,
      headers: (d) => deliveryHeaders(d, secret, o.version),
      fetch: o.fetch ?? fetch,
      maxQueue: o.maxQueue ?? DEFAULT_MAX_QUEUE,
      maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      // Read per retry: a config reload may change the delay.
      backoffMs: (attempt) => exponentialBackoff(this.#retryBaseMs)(attempt),
      timeoutMs: o.timeoutMs ?? 10_000,
      now: this.#now,
      sleep: o.sleep ?? abortableSleep,
      onFailure: (d, last) => o.log.warn('webhook delivery failed', { webhook: hook.index, url: shown, event: d.event, attempts: last.attempts, error: last.error }),
      onDrop: () => o.log.warn('webhook queue full: dropping the oldest events', { webhook: hook.index, url: shown, max: o.maxQueue ?? DEFAULT_MAX_QUEUE }),
    })
    return hook
  }

  /**
   * Take on a reloaded `webhooks:` list (secrets already read). A webhook whose URL, events
   * and secret are unchanged keeps its queue and its delivery history; a removed one stops
   * (what waited for it is dropped). Returns whether anything changed.
   */
  reconfigure(entries: WebhookEntry[], retryBaseMs: number): boolean {
    this.#retryBaseMs = retryBaseMs
    const unused = [...this.#hooks]
    const next = entries.map((entry, index) => {
      const i = unused.findIndex((h) => h.spec.url === entry.spec.url && h.secret === entry.secret && h.spec.events.join() === entry.spec.events.join())
      if (i === -1) return this.#hook(entry, index)
      const [kept] = unused.splice(i, 1)
      kept.index = index
      kept.spec = entry.spec
      return kept
    })
    const changed = unused.length > 0 || next.length !== this.#hooks.length || next.some((h, i) => h !== this.#hooks[i])
    this.#hooks = next
    for (const h of unused) h.queue.stop()
    return changed
  }

  /** Read every secret file (a start-up ConfigError when one is missing or empty). */
  static fromConfig(specs: readonly WebhookSpec[], o: WebhookServiceOptions): WebhookService {
    return new WebhookService(readWebhookSecrets(specs), o)
  }

  get size(): number {
    return this.#hooks.length
  }

  /** Tell every webhook that asked for `event`. Never waits, never throws. */
  emit(event: EventName, who: Who, fields: Record<string, unknown> = {}): void {
    const targets = this.#hooks.filter((h) => event === 'webhook.test' || (h.spec.events as string[]).includes(event))
    if (targets.length === 0) return
    try {
      const d = buildDelivery(event, who, { ...fields, instance: this.#instance }, this.#now())
      for (const h of targets) h.queue.enqueue(d)
    } catch (err) {
      this.o.log.error('webhook event not queued', { event, error: String(err) })
    }
  }

  /** POST /api/webhooks/test: a `webhook.test` event to every webhook (or one). */
  sendTest(who: Who, only?: number): { id: string; webhooks: number[] } {
    const targets = this.#hooks.filter((h) => only === undefined || h.index === only)
    const d = buildDelivery('webhook.test', who, { message: 'Test event sent from the latchkey dashboard', instance: this.#instance }, this.#now())
    for (const h of targets) h.queue.enqueue(d)
    return { id: d.id, webhooks: targets.map((h) => h.index) }
  }

  /** GET /api/webhooks (admins only): URL without its query, events, last delivery. */
  list(): WebhookView[] {
    return this.#hooks.map((h) => ({
      id: h.index,
      url: displayUrl(h.spec.url),
      events: [...h.spec.events],
      signed: h.signed,
      ...h.queue.status(),
    }))
  }

  /** Resolves once every queue is drained (tests). */
  async idle(): Promise<void> {
    await Promise.all(this.#hooks.map((h) => h.queue.idle()))
  }

  stop(): void {
    for (const h of this.#hooks) h.queue.stop()
  }
}
