/** "Detected on this machine" (GET /api/apps/detected): local ports, each exposable with one click. */
import { api, messageOf } from './api.ts'
import { $, busy, el, say } from './dom.ts'

interface Detected {
  address: string
  port: number
  title: string | null
  http: boolean
  app: string | null
}

let onExposed: () => void | Promise<void> = () => {}

/** A valid app name from a page title or the port. */
function nameFor(p: Detected, taken: Set<string>): string {
  const base = (p.title ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || `port-${p.port}`
  let name = /^[a-z0-9]/.test(base) ? base : `app-${base}`
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`
  return name
}

async function expose(p: Detected, button: HTMLButtonElement, taken: Set<string>): Promise<void> {
  const error = $('[data-detected-error]')
  say(error, null)
  try {
    await busy(button, () => api('/api/apps', { method: 'POST', body: { name: nameFor(p, taken), target: `http://127.0.0.1:${p.port}` } }))
    await Promise.all([refreshDetected(), onExposed()])
  } catch (err) {
    say(error, messageOf(err))
  }
}

export async function refreshDetected(): Promise<void> {
  const error = $('[data-detected-error]')
  let ports: Detected[]
  let taken: Set<string>
  try {
    const [d, a] = await Promise.all([api<{ ports: Detected[] }>('/api/apps/detected'), api<{ apps: { name: string }[] }>('/api/apps')])
    ports = d.ports
    taken = new Set(a.apps.map((x) => x.name))
    say(error, null)
  } catch (err) {
    say(error, messageOf(err))
    return
  }
  $('[data-detected-list]').replaceChildren(
    ...ports.map((p) => {
      const label = el('div', { class: 'grow' }, el('strong', {}, p.title ?? (p.http ? 'Web page' : 'Not HTTP')), el('span', { class: 'app-meta' }, ` ${p.address}:${p.port}`))
      const action = p.app
        ? el('span', { class: 'badge on' }, `exposed as ${p.app}`)
        : p.http
          ? el('button', { type: 'button', class: 'small', 'data-expose': String(p.port), 'aria-label': `Expose port ${p.port}` }, 'Expose')
          : el('span', { class: 'badge off' }, 'not a web app')
      if (action instanceof HTMLButtonElement) action.addEventListener('click', () => void expose(p, action, taken))
      return el('li', { class: 'detected', 'data-detected-port': String(p.port) }, label, action)
    }),
  )
  $('[data-detected-empty]').hidden = ports.length > 0
}

export function initDetectedPanel(exposed: () => void | Promise<void>): void {
  onExposed = exposed
  $('[data-action="refresh-detected"]').addEventListener('click', () => void refreshDetected())
}
