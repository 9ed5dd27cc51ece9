/**
 * Apps (GET /api/apps): each with health and an Open link; admins also pause/resume,
 * restart, edit and remove (dashboard apps only), and open the access log.
 */
import { api, messageOf } from './api.ts'
import { $, ago, busy, el, say } from './dom.ts'
import { isAdmin } from './me.ts'
import { editApp } from './app-form.ts'
import { showAccessLog } from './access-log-panel.ts'

export interface AppInfo {
  name: string
  target: string
  mode: 'port' | 'path'
  port: number | null
  path: string | null
  role: 'viewer' | 'admin'
  identityHeaders: boolean
  source: 'config' | 'dashboard'
  editable: boolean
  paused: boolean
  health: { state: 'unknown' | 'up' | 'down'; checkedAt: string | null; latencyMs: number | null; error: string | null }
  listener: { port: number; listening: boolean; error: string | null } | null
}

let apps: AppInfo[] = []

function openUrl(app: AppInfo): string | null {
  if (app.mode === 'path' && app.path) return `${location.origin}${app.path}/`
  if (app.port) return `${location.protocol}//${location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname}:${app.port}/`
  return null
}

function healthBadge(app: AppInfo): HTMLElement {
  if (app.paused) return el('span', { class: 'badge off', 'data-app-health': 'paused' }, 'paused')
  const h = app.health
  const label = h.state === 'up' ? `up${h.latencyMs !== null ? ` · ${h.latencyMs} ms` : ''}` : h.state
  return el('span', { class: `badge health-${h.state}`, 'data-app-health': h.state, title: h.error ?? (h.checkedAt ? `checked ${ago(h.checkedAt)}` : '') }, label)
}

function actionButton(app: AppInfo, action: string, label: string, cls = 'secondary small'): HTMLButtonElement {
  return el('button', { type: 'button', class: cls, 'data-app-action': action, 'data-app': app.name, 'aria-label': `${label} ${app.name}` }, label)
}

function row(app: AppInfo): HTMLLIElement {
  const url = openUrl(app)
  const where = app.mode === 'path' ? app.path : `port ${app.port}`
  const listenerError = app.listener?.error ? el('p', { class: 'error-text' }, app.listener.error) : null
  const open = url && !app.paused ? el('a', { class: 'button small', href: url, target: '_blank', rel: 'noopener', 'data-app-open': app.name }, 'Open') : null
  const admin = isAdmin()
    ? el(
        'div',
        { class: 'actions tight' },
        actionButton(app, app.paused ? 'resume' : 'pause', app.paused ? 'Resume' : 'Pause'),
        actionButton(app, 'restart', 'Restart'),
        actionButton(app, 'log', 'Access log'),
        app.editable ? actionButton(app, 'edit', 'Edit') : null,
        app.editable ? actionButton(app, 'remove', 'Remove', 'danger small') : null,
      )
    : null
  return el(
    'li',
    { class: 'app', 'data-app-row': app.name },
    el('div', { class: 'app-main' }, el('strong', { class: 'app-name' }, app.name), healthBadge(app), app.role === 'admin' ? el('span', { class: 'badge off' }, 'admins only') : null),
    el('p', { class: 'app-meta' }, `${where} → ${app.target}`, app.source === 'config' ? ' · from latchkey.yaml' : ''),
    listenerError,
    el('div', { class: 'actions tight' }, open, admin),
  )
}

export async function refreshApps(): Promise<void> {
  const error = $('[data-apps-error]')
  try {
    apps = (await api<{ apps: AppInfo[] }>('/api/apps')).apps
    say(error, null)
  } catch (err) {
    say(error, messageOf(err))
    return
  }
  $('[data-app-list]').replaceChildren(...apps.map(row))
  $('[data-apps-empty]').hidden = apps.length > 0
}

async function act(button: HTMLButtonElement): Promise<void> {
  const name = button.dataset.app!
  const action = button.dataset.appAction!
  const app = apps.find((a) => a.name === name)
  if (!app) return
  const error = $('[data-apps-error]')
  say(error, null)
  if (action === 'edit') return editApp(app)
  if (action === 'log') return showAccessLog(name)
  if (action === 'remove' && button.dataset.confirm !== 'yes') {
    button.dataset.confirm = 'yes'
    button.textContent = 'Confirm remove'
    setTimeout(() => {
      if (button.isConnected) {
        button.dataset.confirm = ''
        button.textContent = 'Remove'
      }
    }, 4000)
    return
  }
  const path = `/api/apps/${encodeURIComponent(name)}`
  try {
    await busy(button, () => (action === 'remove' ? api(path, { method: 'DELETE' }) : api(`${path}/${action}`, { method: 'POST' })))
  } catch (err) {
    say(error, messageOf(err))
  }
  await refreshApps()
}

export function initAppsPanel(): void {
  $('[data-app-list]').addEventListener('click', (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-app-action]')
    if (button) void act(button)
  })
  $('[data-action="refresh-apps"]').addEventListener('click', () => void refreshApps())
}
