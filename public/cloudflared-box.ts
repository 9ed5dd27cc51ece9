/**
 * Runbook §1.4: choosing Cloudflare checks for the cloudflared CLI; when it is missing, show
 * the install commands and the one-click install (which fails closed until the pinned
 * manifest is verified, and then says so).
 */
import { api, messageOf } from './api.ts'
import { $, $$, busy, el, onAction } from './dom.ts'

interface Detect {
  installed: boolean
  path: string | null
  version: string | null
  install: { recommended: string; commands: Record<string, string> }
  autoInstall: { available: boolean; reason: string | null }
}

async function check(form: HTMLElement): Promise<void> {
  const box = $('[data-cloudflared]', form)
  const d = await api<Detect>('/api/remote/providers/cloudflare/detect')
  box.hidden = false
  box.classList.toggle('warn', !d.installed)
  const install = $<HTMLButtonElement>('[data-action="install-cloudflared"]', form)
  if (d.installed) {
    $('[data-cloudflared-text]', form).textContent = `cloudflared ${d.version ?? ''} found at ${d.path}`
    $('[data-cloudflared-commands]', form).replaceChildren()
    install.hidden = true
    return
  }
  $('[data-cloudflared-text]', form).textContent = 'cloudflared is not installed. Install it with one of these commands, then check again:'
  const order = [d.install.recommended, ...Object.keys(d.install.commands).filter((k) => k !== d.install.recommended)]
  $('[data-cloudflared-commands]', form).replaceChildren(
    ...order.map((k) => el('li', {}, el('strong', {}, k), el('pre', {}, el('code', {}, d.install.commands[k])))),
  )
  install.hidden = false
  install.title = d.autoInstall.available ? '' : d.autoInstall.reason ?? ''
}

export function initCloudflaredBox(form: HTMLElement): void {
  const enabled = $<HTMLInputElement>('[data-field="providers.cloudflare.enabled"]', form)
  const radios = $$<HTMLInputElement>('[data-field="activeProvider"]', form)
  const wanted = () => enabled.checked || radios.some((r) => r.checked && r.value === 'cloudflare')
  const maybeCheck = () => {
    if (wanted()) void check(form).catch(() => {})
    else $('[data-cloudflared]', form).hidden = true
  }
  enabled.addEventListener('change', maybeCheck)
  for (const r of radios) r.addEventListener('change', maybeCheck)
  maybeCheck()
  onAction(form, 'install-cloudflared', async (button) => {
    const text = $('[data-cloudflared-text]', form)
    try {
      await busy(button, () => api('/api/remote/providers/cloudflare/install', { method: 'POST' }))
      await check(form)
    } catch (err) {
      text.textContent = `${messageOf(err)}. Use one of the commands below instead.`
    }
  })
}
