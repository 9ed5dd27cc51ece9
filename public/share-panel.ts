/**
 * "Share" on an app (issue 20): POST /api/apps/:name/shares with a lifetime, view only and a
 * device limit; the link comes back once and is drawn as a QR from the same text
 * (qr-image.ts). The share is then listed under Devices (share-list.ts), where it is revoked.
 */
import { api, ApiFailure, messageOf } from './api.ts'
import { $, busy, say, secretField } from './dom.ts'
import { showQr } from './qr-image.ts'

export interface Share {
  id: string
  app: string
  createdAt: string
  expiresAt: string
  viewOnly: boolean
  maxDevices: number | null
  opened: number
  devices: number
  createdBy: string
}

let wired = false
let current: string | null = null

function wire(): void {
  if (wired) return
  wired = true
  secretField($<HTMLInputElement>('[data-share-link]'), $<HTMLButtonElement>('[data-action="reveal-share"]'), $<HTMLButtonElement>('[data-action="copy-share"]'))
  $('[data-action="close-share"]').addEventListener('click', () => {
    $('[data-panel="share"]').hidden = true
  })
  const form = $<HTMLFormElement>('[data-share-form]')
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    void create($<HTMLButtonElement>('[data-action="create-share"]'))
  })
}

async function create(button: HTMLButtonElement): Promise<void> {
  const error = $('[data-share-error]')
  say(error, null)
  const max = $<HTMLInputElement>('[data-share-max]').value.trim()
  const body = {
    ttlMinutes: Number($<HTMLSelectElement>('[data-share-ttl]').value),
    viewOnly: $<HTMLInputElement>('[data-share-view-only]').checked,
    maxDevices: max === '' ? null : Number(max),
  }
  try {
    const share = await busy(button, () => api<Share & { url: string }>(`/api/apps/${encodeURIComponent(current!)}/shares`, { method: 'POST', body }))
    $<HTMLInputElement>('[data-share-link]').value = share.url
    await showQr($<HTMLImageElement>('[data-share-img]'), share.url)
    const limit = share.maxDevices === null ? '' : `, ${share.maxDevices} device${share.maxDevices === 1 ? '' : 's'} at most`
    $('[data-share-caption]').textContent = `${share.app}${share.viewOnly ? ' · view only' : ''} · until ${new Date(share.expiresAt).toLocaleString()}${limit}`
    $('[data-share-result]').hidden = false
  } catch (err) {
    const field = err instanceof ApiFailure && err.field === 'maxDevices' ? 'Devices: ' : ''
    say(error, field + messageOf(err))
  }
}

/** Open the Share card for one app (the Apps view's "Share" action). */
export function openShare(app: string): void {
  wire()
  current = app
  const panel = $('[data-panel="share"]')
  panel.hidden = false
  panel.dataset.app = app
  $('[data-share-title]').textContent = `Share ${app}`
  $('[data-share-result]').hidden = true
  $<HTMLInputElement>('[data-share-link]').value = ''
  say($('[data-share-error]'), null)
  panel.scrollIntoView({ block: 'nearest' })
  $<HTMLSelectElement>('[data-share-ttl]').focus()
}
