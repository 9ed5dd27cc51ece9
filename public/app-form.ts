/**
 * Add or edit a dashboard app (POST /api/apps, PUT /api/apps/:name). The server names the
 * wrong field; its message appears under that field.
 */
import { api, ApiFailure, messageOf } from './api.ts'
import { $, $$, busy, onAction, say } from './dom.ts'
import type { AppInfo } from './apps-panel.ts'

let editing: string | null = null
let saved: () => void | Promise<void> = () => {}

const field = <T extends HTMLElement = HTMLInputElement>(name: string) => $<T>(`[data-app-field="${name}"]`)

function clearErrors(form: HTMLElement): void {
  for (const p of $$('[data-error-for]', form)) say(p, null)
  for (const i of $$('[aria-invalid]', form)) i.removeAttribute('aria-invalid')
}

function showFieldError(form: HTMLElement, name: string | undefined, message: string): void {
  const key = name && form.querySelector(`[data-error-for="${CSS.escape(name)}"]`) ? name : 'body'
  const slot = $(`[data-error-for="${key}"]`, form)
  say(slot, message)
  const input = form.querySelector<HTMLElement>(`[data-app-field="${CSS.escape(key)}"]`)
  if (input) {
    slot.id ||= `app-err-${key}`
    input.setAttribute('aria-invalid', 'true')
    input.setAttribute('aria-describedby', slot.id)
    input.focus()
  }
}

function syncPortRow(): void {
  $('[data-app-port-row]').hidden = field<HTMLSelectElement>('expose').value !== 'port'
}

function reset(form: HTMLFormElement): void {
  editing = null
  form.reset()
  clearErrors(form)
  syncPortRow()
  $('[data-app-form-title]').textContent = 'Add an app'
  $('[data-action="save-app"]', form).textContent = 'Add app'
  $('[data-action="cancel-edit"]', form).hidden = true
}

/** Fill the form with an app to edit, and bring it into view. */
export function editApp(app: AppInfo): void {
  const form = $<HTMLFormElement>('[data-app-form]')
  reset(form)
  editing = app.name
  field('name').value = app.name
  field('target').value = app.target
  field<HTMLSelectElement>('expose').value = app.mode
  field('port').value = app.port !== null ? String(app.port) : ''
  field<HTMLSelectElement>('role').value = app.role
  field('identityHeaders').checked = app.identityHeaders
  field('timeout').value = app.timeout !== null ? String(app.timeout) : ''
  syncPortRow()
  $('[data-app-form-title]').textContent = `Edit ${app.name}`
  $('[data-action="save-app"]', form).textContent = 'Save changes'
  $('[data-action="cancel-edit"]', form).hidden = false
  form.scrollIntoView({ block: 'nearest' })
  field('name').focus()
}

export function initAppForm(onSaved: () => void | Promise<void>): void {
  saved = onSaved
  const form = $<HTMLFormElement>('[data-app-form]')
  field<HTMLSelectElement>('expose').addEventListener('change', syncPortRow)
  onAction(form, 'cancel-edit', () => reset(form))
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    clearErrors(form)
    const body: Record<string, unknown> = {
      name: field('name').value.trim(),
      target: field('target').value.trim(),
      role: field<HTMLSelectElement>('role').value,
      identityHeaders: field('identityHeaders').checked,
    }
    const timeout = field('timeout').value.trim()
    if (timeout) {
      if (!/^\d+$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > 3600) return showFieldError(form, 'timeout', 'Enter a number of seconds from 1 to 3600, or leave it empty')
      body.timeout = Number(timeout)
    }
    if (field<HTMLSelectElement>('expose').value === 'port') {
      const raw = field('port').value.trim() || '0'
      if (!/^\d+$/.test(raw) || Number(raw) > 65535) return showFieldError(form, 'port', 'Enter a port number from 0 to 65535')
      body.port = Number(raw)
    }
    try {
      await busy($<HTMLButtonElement>('[data-action="save-app"]', form), () =>
        editing ? api(`/api/apps/${encodeURIComponent(editing)}`, { method: 'PUT', body }) : api('/api/apps', { method: 'POST', body }),
      )
      reset(form)
      await saved()
    } catch (err) {
      showFieldError(form, err instanceof ApiFailure ? err.field : undefined, messageOf(err))
    }
  })
}
