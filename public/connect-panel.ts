/** "Connect a device": the QR code and link, shown to the local user only. */
import { api, apiUrl } from './api.ts'
import { $ } from './dom.ts'

interface Connect {
  address: string | null
  url: string | null
  tokenIncluded: boolean
  message: string
}

export async function renderConnect(): Promise<void> {
  const panel = $('[data-panel="connect"]')
  let info: Connect
  try {
    info = await api<Connect>('/api/connect')
  } catch {
    panel.hidden = true // viewers do not get connect links
    return
  }
  panel.hidden = false
  $('[data-connect-message]').textContent = info.message
  const qr = $('[data-connect-qr]')
  const row = $('[data-connect-link-row]')
  qr.hidden = row.hidden = !info.url
  if (!info.url) return
  $<HTMLImageElement>('[data-connect-qr-img]').src = apiUrl(`/api/connect/qr.svg?v=${Date.now()}`)
  const input = $<HTMLInputElement>('[data-connect-link]')
  input.value = info.url
  const reveal = $<HTMLButtonElement>('[data-action="reveal-link"]')
  reveal.onclick = () => {
    const show = input.type === 'password'
    input.type = show ? 'text' : 'password'
    reveal.textContent = show ? 'Hide' : 'Show'
    reveal.setAttribute('aria-pressed', String(show))
  }
  const copy = $<HTMLButtonElement>('[data-action="copy-link"]')
  copy.onclick = async () => {
    await navigator.clipboard.writeText(input.value)
    copy.textContent = 'Copied'
    setTimeout(() => (copy.textContent = 'Copy'), 1500)
  }
}
