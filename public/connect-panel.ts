/**
 * "Connect a device" (token-guard reference): the QR code and link with the access token,
 * for the address the user picks among this machine's candidates (best first), with that
 * address written beside the QR (never the token). Shown to the local user only
 * (GET /api/connect, admin). The one-time login QR uses the same address.
 */
import { api } from './api.ts'
import { showQr } from './qr-image.ts'
import { $, el, secretField } from './dom.ts'

interface Candidate {
  address: string
  source: 'host' | 'allowed-origins' | 'opened' | 'tailnet' | 'default-route' | 'interface'
  interface?: string
  kind?: 'lan' | 'tailnet' | 'container' | 'public'
}

interface Connect {
  address: string | null
  source: Candidate['source'] | null
  candidates: Candidate[]
  url: string | null
  tokenIncluded: boolean
  message: string
}

const SOURCES: Record<Candidate['source'], string> = {
  host: '--host',
  'allowed-origins': 'allowed origin',
  opened: 'opened here',
  tailnet: 'tailnet',
  'default-route': 'default route',
  interface: 'interface',
}
const KINDS: Record<NonNullable<Candidate['kind']>, string> = { lan: 'LAN', tailnet: 'tailnet', container: 'container bridge', public: 'public' }

/** The address the user picked, if any (else the server's best). */
let picked: string | null = null

/** The address the QR codes use now (the one-time login QR follows it). */
export function chosenAddress(): string | null {
  return picked
}

function label(c: Candidate): string {
  const where = [c.interface, c.kind ? KINDS[c.kind] : null, SOURCES[c.source]].filter(Boolean).join(', ')
  return `${c.address} (${where})`
}

export function initConnectPanel(): void {
  secretField($<HTMLInputElement>('[data-connect-link]'), $<HTMLButtonElement>('[data-action="reveal-link"]'), $<HTMLButtonElement>('[data-action="copy-link"]'))
  $<HTMLSelectElement>('[data-connect-address]').addEventListener('change', (e) => {
    picked = (e.target as HTMLSelectElement).value
    void renderConnect()
  })
}

export async function renderConnect(): Promise<void> {
  let info: Connect
  try {
    info = await api<Connect>(`/api/connect${picked ? `?address=${encodeURIComponent(picked)}` : ''}`)
  } catch {
    // The picked address is gone (closed again): back to the best one.
    picked = null
    info = await api<Connect>('/api/connect')
  }
  $('[data-connect-message]').textContent = info.message
  const select = $<HTMLSelectElement>('[data-connect-address]')
  select.replaceChildren(...info.candidates.map((c) => el('option', { value: c.address, selected: c.address === info.address }, label(c))))
  $('[data-connect-address-row]').hidden = info.candidates.length < 2
  const qr = $('[data-connect-qr]')
  const row = $('[data-connect-link-row]')
  qr.hidden = row.hidden = !info.url
  if (!info.url) return
  $<HTMLInputElement>('[data-connect-link]').value = info.url
  // The address in words, so the user can tell whether the phone can reach it: no token.
  const where = new URL(info.url)
  $('[data-connect-where]').textContent = `${where.protocol}//${where.host}`
  const img = $<HTMLImageElement>('[data-connect-qr-img]')
  if (img.dataset.for !== info.url) {
    img.dataset.for = info.url
    // Drawn here from the link itself: an <img> of /api/connect/qr.svg would be a request the
    // API refuses when the dashboard and the API are on different ports (same-site, no Origin).
    await showQr(img, info.url)
  }
}
