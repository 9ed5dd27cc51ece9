/**
 * One-time login QR (runbook §5, §6): a short-lived, one-time link from GET /api/remote/qr
 * (JSON), drawn as a QR from the same link, with a countdown to its expiry.
 */
import { api, messageOf } from './api.ts'
import { $, busy, onAction, say, secretField } from './dom.ts'
import { showQr } from './qr-image.ts'
import { chosenAddress } from './connect-panel.ts'

interface LoginLink {
  url: string
  tokenType: string
  expiresAt: string | null
  ttlMs: number | null
  oneTime: boolean
  role: string
}

let timer: ReturnType<typeof setInterval> | null = null

function countdown(expiresAt: string, role: string): void {
  const out = $('[data-ql-countdown]')
  const result = $('[data-ql-result]')
  if (timer) clearInterval(timer)
  const tick = () => {
    const left = Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 1000))
    const mm = Math.floor(left / 60)
    const ss = String(left % 60).padStart(2, '0')
    out.textContent = left > 0 ? `One-time ${role} link, expires in ${mm}:${ss}` : 'Expired: generate a new one'
    result.classList.toggle('expired', left === 0)
    if (left === 0 && timer) clearInterval(timer)
  }
  tick()
  timer = setInterval(tick, 1000)
}

export function initLoginLinksPanel(): void {
  const panel = $('[data-panel="login-links"]')
  const error = $('[data-ql-error]')
  secretField($<HTMLInputElement>('[data-ql-link]'), $<HTMLButtonElement>('[data-action="reveal-ql"]'), $<HTMLButtonElement>('[data-action="copy-ql"]'))
  onAction(panel, 'short-lived-qr', async (button) => {
    say(error, null)
    const role = $<HTMLSelectElement>('[data-ql-role]').value
    const ttlMs = $<HTMLSelectElement>('[data-ql-ttl]').value
    try {
      const address = chosenAddress()
      const at = address ? `&address=${encodeURIComponent(address)}` : ''
      const link = await busy(button, () => api<LoginLink>(`/api/remote/qr?tokenType=short-lived&oneTime=true&role=${encodeURIComponent(role)}&ttlMs=${encodeURIComponent(ttlMs)}${at}`))
      $<HTMLInputElement>('[data-ql-link]').value = link.url
      await showQr($<HTMLImageElement>('[data-ql-img]'), link.url)
      $('[data-ql-result]').hidden = false
      if (link.expiresAt) countdown(link.expiresAt, link.role)
    } catch (err) {
      say(error, messageOf(err))
    }
  })
}
