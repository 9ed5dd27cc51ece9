/**
 * Provider settings (runbook §2.1, §4.1): the remoteAccess block from GET /api/remote/settings
 * (secrets masked), saved with PUT /api/remote/settings. Each input names its settings path
 * in data-field; a 400 from the server names the field, and the message appears under it.
 * "Activate selected" only selects the provider (runbook §2.2).
 */
import { api, ApiFailure, messageOf } from './api.ts'
import { $, $$, busy, onAction, say } from './dom.ts'
import { publish, type RemoteStatus } from './live-status.ts'
import { initCloudflaredBox } from './cloudflared-box.ts'

type Json = Record<string, any>
const MINUTE = 60_000

function getIn(o: Json, path: string): unknown {
  return path.split('.').reduce<any>((v, k) => (v == null ? undefined : v[k]), o)
}

function setIn(o: Json, path: string, value: unknown): void {
  const keys = path.split('.')
  let cur = o
  for (const k of keys.slice(0, -1)) cur = cur[k] ??= {}
  cur[keys.at(-1)!] = value
}

function clearErrors(form: HTMLElement): void {
  for (const p of $$('[data-error-for]', form)) say(p, null)
  for (const i of $$('[aria-invalid]', form)) i.removeAttribute('aria-invalid')
}

/** Show `message` under the field `field` (a settings path), or at the form's foot. */
export function fieldError(form: HTMLElement, field: string | undefined, message: string): void {
  const path = (field ?? '').replace(/^remoteAccess\./, '')
  const own: HTMLElement | null = path ? form.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(path)}"]`) : null
  const slot: HTMLElement = own ?? $<HTMLElement>('[data-error-for="form"]', form)
  say(slot, message)
  const input = path ? form.querySelector<HTMLElement>(`[data-field="${CSS.escape(path)}"]`) : null
  if (input) {
    input.setAttribute('aria-invalid', 'true')
    if (slot.id === '') slot.id = `err-${path.replace(/\W/g, '-')}`
    input.setAttribute('aria-describedby', slot.id)
    input.focus()
  }
}

function fill(form: HTMLFormElement, ra: Json): void {
  for (const input of $$<HTMLInputElement | HTMLSelectElement>('[data-field]', form)) {
    const path = input.dataset.field!
    const value = getIn(ra, path)
    if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = value === true
    else if (input instanceof HTMLInputElement && input.type === 'radio') input.checked = input.value === value
    else if (path === 'providers.cloudflare.tunnelToken') {
      input.value = ''
      ;(input as HTMLInputElement).placeholder = value ? `${value} (unchanged)` : 'not set'
    } else if (input.dataset.type === 'minutes') input.value = typeof value === 'number' ? String(Math.round((value / MINUTE) * 100) / 100) : ''
    else input.value = value == null ? '' : String(value)
  }
  syncNamedFields(form)
}

function syncNamedFields(form: HTMLFormElement): void {
  const quick = $<HTMLInputElement>('[data-field="providers.cloudflare.quickTunnel"]', form).checked
  $('[data-named-fields]', form).hidden = quick
}

/** The patch to PUT, or null after showing a field error. */
function collect(form: HTMLFormElement): Json | null {
  const out: Json = {}
  for (const input of $$<HTMLInputElement | HTMLSelectElement>('[data-field]', form)) {
    const path = input.dataset.field!
    if (path === 'activeProvider') continue
    if (input instanceof HTMLInputElement && input.type === 'checkbox') {
      setIn(out, path, input.checked)
      continue
    }
    const raw = input.value.trim()
    if (path === 'providers.cloudflare.tunnelToken') {
      if (raw) setIn(out, path, raw)
      continue
    }
    if (input.dataset.type === 'port') {
      if (raw === '') setIn(out, path, null)
      else if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) return fieldError(form, path, 'Enter a port number from 1 to 65535'), null
      else setIn(out, path, Number(raw))
      continue
    }
    if (input.dataset.type === 'minutes') {
      const n = Number(raw)
      if (!raw || !Number.isFinite(n) || n <= 0) return fieldError(form, path, 'Enter a number of minutes greater than 0'), null
      setIn(out, path, Math.round(n * MINUTE))
      continue
    }
    setIn(out, path, raw)
  }
  return out
}

export async function initProviderForm(): Promise<void> {
  const form = $<HTMLFormElement>('[data-provider-form]')
  const saved = $('[data-saved]')
  const load = async () => fill(form, (await api<{ remoteAccess: Json }>('/api/remote/settings')).remoteAccess)
  await load()
  initCloudflaredBox(form)
  $('[data-field="providers.cloudflare.quickTunnel"]', form).addEventListener('change', () => syncNamedFields(form))
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    clearErrors(form)
    saved.textContent = ''
    const patch = collect(form)
    if (!patch) return
    try {
      await busy($<HTMLButtonElement>('[data-action="save-settings"]', form), async () => {
        fill(form, (await api<{ remoteAccess: Json }>('/api/remote/settings', { method: 'PUT', body: { remoteAccess: patch } })).remoteAccess)
      })
      saved.textContent = 'Saved'
    } catch (err) {
      fieldError(form, err instanceof ApiFailure ? err.field : undefined, messageOf(err))
    }
  })
  onAction(form, 'activate', async (button) => {
    clearErrors(form)
    const chosen = form.querySelector<HTMLInputElement>('[data-field="activeProvider"]:checked')
    if (!chosen) return fieldError(form, 'activeProvider', 'Choose Tailscale or Cloudflare first')
    try {
      await busy(button, async () => publish(await api<RemoteStatus>('/api/remote/provider/activate', { method: 'POST', body: { provider: chosen.value } })))
      saved.textContent = `${chosen.value === 'tailscale' ? 'Tailscale' : 'Cloudflare'} is the active provider (not started)`
    } catch (err) {
      fieldError(form, 'activeProvider', messageOf(err))
    }
  })
}
