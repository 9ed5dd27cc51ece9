/**
 * Notifications (admins only): the webhooks of latchkey.yaml as GET /api/webhooks lists them
 * (URL as the API shows it, with any query hidden; events; last delivery; counters), and
 * "Send a test event" (POST /api/webhooks/test), followed until its delivery is known.
 * Viewers never get this panel: it is removed with the other admin controls, and the API
 * refuses them anyway.
 */
import { api, messageOf } from './api.ts'
import { $, ago, badge, busy, el, fillFacts, say } from './dom.ts'

// The server's own type (a type-only import: nothing from src/ reaches the bundle).
import type { LastDelivery, QueueStatus } from '../src/webhooks/delivery-queue.ts'

interface Webhook extends QueueStatus {
  id: number
  url: string
  events: string[]
  signed: boolean
}

const POLL_MS = 600
/** Long enough for the default retries (1 s, 2 s, 4 s, 8 s) to play out. */
const FOLLOW_MS = 60_000

let hooks: Webhook[] = []

function lastDelivery(last: LastDelivery | null): Node {
  if (!last) return el('span', { class: 'muted', 'data-webhook-last': 'none' }, 'nothing sent yet')
  const when = el('time', { datetime: last.at, title: new Date(last.at).toLocaleString() }, ago(last.at))
  const outcome = last.ok
    ? badge(`delivered${last.status !== null ? ` · ${last.status}` : ''}`, 'on')
    : badge(`failed${last.status !== null ? ` · ${last.status}` : ''}`, 'health-down')
  const attempts = last.attempts > 1 ? ` · ${last.attempts} attempts` : ''
  return el(
    'span',
    { 'data-webhook-last': last.ok ? 'ok' : 'failed', 'data-webhook-last-id': last.id },
    outcome,
    el('code', {}, last.event),
    ' · ',
    when,
    attempts,
    last.error ? el('span', { class: 'error-text webhook-error', 'data-webhook-error': '' }, last.error) : null,
  )
}

function row(h: Webhook): HTMLLIElement {
  const facts = el('dl', { class: 'facts' })
  const counts = [`${h.delivered} delivered`, `${h.failed} failed`, `${h.dropped} dropped`]
  if (h.queued > 0 || h.inFlight) counts.push(`${h.queued + (h.inFlight ? 1 : 0)} waiting`)
  fillFacts(facts, [
    ['Events', el('span', { class: 'event-list' }, ...h.events.map((e) => el('code', {}, e)))],
    ['Last delivery', lastDelivery(h.lastDelivery)],
    ['Totals', el('span', { 'data-webhook-counts': '' }, counts.join(' · '))],
  ])
  return el(
    'li',
    { class: 'webhook', 'data-webhook': String(h.id) },
    el('div', { class: 'webhook-head' }, el('code', { class: 'webhook-url', 'data-webhook-url': '' }, h.url), h.signed ? badge('signed', 'on') : badge('unsigned', 'off')),
    facts,
  )
}

export async function refreshWebhooks(): Promise<Webhook[]> {
  const error = $('[data-webhooks-error]')
  try {
    hooks = (await api<{ webhooks: Webhook[] }>('/api/webhooks')).webhooks
    say(error, null)
  } catch (err) {
    say(error, messageOf(err))
    return hooks
  }
  $('[data-webhook-list]').replaceChildren(...hooks.map(row))
  $('[data-webhooks-empty]').hidden = hooks.length > 0
  $('[data-webhook-actions]').hidden = hooks.length === 0
  return hooks
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Send the test event, then follow GET /api/webhooks until every target has its outcome. */
async function sendTest(button: HTMLButtonElement): Promise<void> {
  const state = $('[data-webhook-test-state]')
  const error = $('[data-webhooks-error]')
  say(error, null)
  await busy(button, async () => {
    let sent: { id: string; webhooks: number[] }
    try {
      sent = await api<{ id: string; webhooks: number[] }>('/api/webhooks/test', { method: 'POST' })
    } catch (err) {
      state.textContent = ''
      say(error, messageOf(err))
      return
    }
    state.dataset.state = 'sending'
    state.textContent = 'Test event queued…'
    const end = Date.now() + FOLLOW_MS
    while (Date.now() < end) {
      const list = await refreshWebhooks()
      const targets = list.filter((h) => sent.webhooks.includes(h.id))
      const done = targets.filter((h) => h.lastDelivery?.id === sent.id)
      if (done.length === targets.length) {
        const failed = done.filter((h) => !h.lastDelivery!.ok).length
        state.dataset.state = failed ? 'failed' : 'delivered'
        state.textContent = failed ? `Test event failed for ${failed} of ${done.length} webhook${done.length === 1 ? '' : 's'}.` : 'Test event delivered.'
        return
      }
      state.textContent = targets.some((h) => h.inFlight) ? 'Test event sending (retrying if the receiver fails)…' : 'Test event queued…'
      await sleep(POLL_MS)
    }
    state.dataset.state = 'pending'
    state.textContent = 'Still waiting for the receiver; the result will show here after Refresh.'
  })
}

export function initWebhooksPanel(): void {
  $('[data-action="refresh-webhooks"]').addEventListener('click', () => void refreshWebhooks())
  const test = $<HTMLButtonElement>('[data-action="webhook-test"]')
  test.addEventListener('click', () => void sendTest(test))
}
