/**
 * The shape of one operator webhook (latchkey.yaml `webhooks:`), validated field by field,
 * and the reading of its secret file. The secret itself never enters the Config: only the
 * file's path does, and start-up reads it into the webhook service.
 */
import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.ts'
import { expandHome } from '../config/data-dir.ts'

/** Every event a webhook can ask for. */
export const WEBHOOK_EVENTS = ['device.signed_in', 'session.revoked', 'tunnel.failed', 'tunnel.started', 'admin.denied', 'share.opened'] as const
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number]

export interface WebhookSpec {
  url: string
  /** The events this webhook receives (default: all of them). */
  events: WebhookEventName[]
  /** File holding the HMAC-SHA256 key; with it, each delivery carries X-Latchkey-Signature. */
  secretFile?: string
}

export class WebhookConfigError extends TypeError {
  /** `onKey`: the key itself is wrong (unknown field), not its value. */
  constructor(readonly field: string, message: string, readonly onKey = false) {
    super(message)
    this.name = 'WebhookConfigError'
  }
}

const KEYS = new Set(['url', 'events', 'secretFile'])

/** Validate one webhook entry; `where` prefixes the field names in errors (e.g. "webhooks[0]"). */
export function parseWebhookEntry(raw: unknown, where: string): WebhookSpec {
  const fail = (field: string, why: string, onKey = false): never => {
    const name = `${where}.${field}`
    throw new WebhookConfigError(name, `"${name}" ${why}`, onKey)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new WebhookConfigError(where, `"${where}" must be a mapping with url (and events, secretFile)`)
  }
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KEYS.has(k)) fail(k, 'is not a known webhook field (url, events, secretFile)', true)
  if (typeof o.url !== 'string' || o.url === '') fail('url', 'must be an http:// or https:// URL')
  let url: URL
  try {
    url = new URL(o.url as string)
  } catch {
    return fail('url', 'must be an http:// or https:// URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('url', 'must start with http:// or https://')
  if (url.username || url.password) fail('url', 'must not contain credentials (use secretFile to sign deliveries)')
  if (url.hash) fail('url', 'must not contain a #fragment')
  const spec: WebhookSpec = { url: url.href, events: [...WEBHOOK_EVENTS] }
  if (o.events !== undefined) {
    if (!Array.isArray(o.events) || o.events.length === 0) fail('events', `must be a non-empty list of: ${WEBHOOK_EVENTS.join(', ')}`)
    const events = o.events as unknown[]
    events.forEach((e, i) => {
      if (typeof e !== 'string' || !(WEBHOOK_EVENTS as readonly string[]).includes(e)) fail(`events[${i}]`, `must be one of ${WEBHOOK_EVENTS.join(', ')}`)
    })
    spec.events = [...new Set(events as WebhookEventName[])]
  }
  if (o.secretFile !== undefined) {
    if (typeof o.secretFile !== 'string' || o.secretFile.trim() === '') fail('secretFile', 'must be the path of a file holding the signing secret')
    spec.secretFile = expandHome(o.secretFile as string)
  }
  return spec
}

/** The signing secret of a webhook (null when it has no secretFile); a start-up error otherwise. */
export function readWebhookSecret(spec: WebhookSpec, index: number): string | null {
  if (!spec.secretFile) return null
  let text: string
  try {
    text = readFileSync(spec.secretFile, 'utf8')
  } catch (err: any) {
    throw new ConfigError(`cannot read the secret file of webhooks[${index}] (${err?.code ?? 'error'})`, { path: spec.secretFile })
  }
  const secret = text.trim()
  if (!secret) throw new ConfigError(`the secret file of webhooks[${index}] is empty`, { path: spec.secretFile })
  return secret
}

/** A webhook's URL as latchkey shows it (API, log): origin and path, never the query. */
export function displayUrl(url: string): string {
  const u = new URL(url)
  return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`
}
