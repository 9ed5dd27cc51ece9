/**
 * "Connect a device" (token-guard reference): the QR code and link with the access token for
 * the current best address, shown to the local user only (GET /api/connect, admin).
 */
import { api } from './api.ts'
import { showQr } from './qr-image.ts'
import { $, secretField } from './dom.ts'

interface Connect {
  address: string | null
  url: string | null
  tokenIncluded: boolean
  message: string
}

export function initConnectPanel(): void {
  secretField($<HTMLInputElement>('[data-connect-link]'), $<HTMLButtonElement>('[data-action="reveal-link"]'), $<HTMLButtonElement>('[data-action="copy-link"]'))
}

export async function renderConnect(): Promise<void> {
  const info = await api<Connect>('/api/connect')
  $('[data-connect-message]').textContent = info.message
  const qr = $('[data-connect-qr]')
  const row = $('[data-connect-link-row]')
  qr.hidden = row.hidden = !info.url
  if (!info.url) return
  $<HTMLInputElement>('[data-connect-link]').value = info.url
  const img = $<HTMLImageElement>('[data-connect-qr-img]')
  if (img.dataset.for !== info.url) {
    img.dataset.for = info.url
    // Drawn here from the link itself: an <img> of /api/connect/qr.svg would be a request the
    // API refuses when the dashboard and the API are on different ports (same-site, no Origin).
    await showQr(img, info.url)
  }
}
