/**
 * What a webhook receives: one small JSON document per event, `{ id, event, time, who, ... }`,
 * and the headers that go with it. With a secret, `X-Latchkey-Signature: sha256=<hex>` is the
 * HMAC-SHA256 of the raw body (which carries `time`, so a receiver can refuse old replays);
 * `X-Latchkey-Timestamp` repeats that instant in Unix seconds.
 *
 * Nothing here is a secret: `who` names a session by its public id, a Tailscale user by ID and
 * login, a client by address; never a token, cookie, key or query string.
 */
import type { WebhookEventName } from './webhook-config.ts'

/** A configured event, or the test event of POST /api/webhooks/test. */
export type EventName = WebhookEventName | 'webhook.test'

export type Who = Record<string, string | number | boolean | null | undefined> | null

export interface WebhookDocument {
  id: string
  event: EventName
  /** ISO 8601, UTC. */
  time: string
  who: Who
  [field: string]: unknown
}

export interface Delivery {
  id: string
  event: EventName
  /** Unix seconds of `time`. */
  timestamp: number
  /** The raw JSON body, signed as is. */
  body: string
}

export const SIGNATURE_HEADER = 'x-latchkey-signature'
export const TIMESTAMP_HEADER = 'x-latchkey-timestamp'

/** Build the document and its serialized body once; every webhook gets the same bytes. */
export function buildDelivery(event: EventName, who: Who, fields: Record<string, unknown>, now: number): Delivery {
  const id = `evt_${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`
  const doc: WebhookDocument = { id, event, time: new Date(now).toISOString(), who: who ?? null, ...fields }
  return { id, event, timestamp: Math.floor(now / 1000), body: JSON.stringify(doc) }
}

/** `sha256=<hex>`: HMAC-SHA256 of the raw body with the webhook's secret. */
export function signBody(secret: string, body: string): string {
  // node:crypto when a delivery is signed, not at every start (its load is costly on Bun).
  const { createHmac } = process.getBuiltinModule('node:crypto')
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`
}

/** The request headers of one delivery. */
export function deliveryHeaders(d: Delivery, secret: string | null, version: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `latchkey/${version}`,
    'x-latchkey-event': d.event,
    'x-latchkey-delivery': d.id,
    [TIMESTAMP_HEADER]: String(d.timestamp),
  }
  if (secret) headers[SIGNATURE_HEADER] = signBody(secret, d.body)
  return headers
}
