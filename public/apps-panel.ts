/**
 * Apps (GET /api/apps): each with health and an Open link; admins also pause/resume,
 * restart, edit and remove (dashboard apps only), open the access log, and share an app
 * with a link (share-panel.ts). Everyone can filter, sort, pin and switch between list and
 * grid; those choices are saved per identity (preferences.ts) and restored on the next visit.
 */
import { api, messageOf } from './api.ts'
import { $, $$, ago, busy, el, say } from './dom.ts'
import { loadPreferences, preferences, savePreferences, type Preferences } from './preferences.ts'
import { isAdmin } from './me.ts'
import { editApp } from './app-form.ts'
import { showAccessLog } from './access-log-panel.ts'
import { openShare } from './share-panel.ts'

export interface AppInfo {
  name: string
  target: string
  mode: 'port' | 'path'
  port: number | null
  path: string | null
  role: 'viewer' | 'admin'
  identityHeaders: boolean
  /** Seconds the app may stay silent; null: latchkey's default. */
  timeout: number | null
  source: 'config' | 'dashboard'
  editable: boolean
  paused: boolean
  health: { state: 'unknown' | 'up' | 'down'; checkedAt: string | null; latencyMs: number | null; error: string | null }
  listener: { port: number; listening: boolean; error: string | null } | null
}

let apps: AppInfo[] = []
/** Whether GET /api/apps has answered at least once (before that, no "No apps" hint). */
let loaded = false
const FILTER_SAVE_DELAY_MS = 400
let filterTimer: ReturnType<typeof setTimeout> | undefined
/** Filter text typed but not saved yet (the list follows it at once). */
let typed: string | null = null

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

function pinButton(app: AppInfo, pinned: boolean): HTMLButtonElement {
  return el(
    'button',
    { type: 'button', class: `pin${pinned ? ' pinned' : ''}`, 'data-app-pin': app.name, 'aria-pressed': String(pinned), 'aria-label': `${pinned ? 'Unpin' : 'Pin'} ${app.name}`, title: pinned ? 'Pinned: listed first. Click to unpin.' : 'Pin: list it first' },
    pinned ? '★' : '☆',
  )
}

function row(app: AppInfo, pinned: boolean): HTMLLIElement {
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
        actionButton(app, 'share', 'Share'),
        app.editable ? actionButton(app, 'edit', 'Edit') : null,
        app.editable ? actionButton(app, 'remove', 'Remove', 'danger small') : null,
      )
    : null
  return el(
    'li',
    { class: `app${pinned ? ' is-pinned' : ''}`, 'data-app-row': app.name, 'data-pinned': String(pinned) },
    el(
      'div',
      { class: 'app-main' },
      el('strong', { class: 'app-name' }, app.name),
      healthBadge(app),
      app.role === 'admin' ? el('span', { class: 'badge off' }, 'admins only') : null,
      pinButton(app, pinned),
    ),
    el('p', { class: 'app-meta' }, `${where} → ${app.target}`, app.source === 'config' ? ' · from latchkey.yaml' : ''),
    listenerError,
    el('div', { class: 'actions tight' }, open, admin),
  )
}

const STATUS_ORDER: Record<string, number> = { up: 0, unknown: 1, down: 2, paused: 3 }
const statusOf = (a: AppInfo): string => (a.paused ? 'paused' : a.health.state)

/** Whether an app matches the filter text (name, target, path or port; any case). */
function matches(app: AppInfo, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean)
  const text = [app.name, app.target, app.path ?? '', app.port ? `port ${app.port}` : ''].join(' ').toLowerCase()
  return words.every((w) => text.includes(w))
}

/** Pinned apps first (in the chosen order), then the rest in the chosen order. */
export function arrange(list: readonly AppInfo[], prefs: Pick<Preferences, 'sort' | 'pinnedApps' | 'filter'>): AppInfo[] {
  const byName = (a: AppInfo, b: AppInfo) => a.name.localeCompare(b.name)
  // The API lists apps from latchkey.yaml first, then dashboard apps in the order they were added.
  const added = new Map(list.map((a, i) => [a.name, i]))
  const compare =
    prefs.sort === 'status' ? (a: AppInfo, b: AppInfo) => (STATUS_ORDER[statusOf(a)] ?? 9) - (STATUS_ORDER[statusOf(b)] ?? 9) || byName(a, b)
    : prefs.sort === 'recent' ? (a: AppInfo, b: AppInfo) => added.get(b.name)! - added.get(a.name)!
    : byName
  const pinned = new Set(prefs.pinnedApps)
  return list.filter((a) => matches(a, prefs.filter)).sort((a, b) => Number(pinned.has(b.name)) - Number(pinned.has(a.name)) || compare(a, b))
}

/** Draw the list from what GET /api/apps answered last and the preferences in effect. */
function render(): void {
  const prefs = { ...preferences(), filter: typed ?? preferences().filter }
  const shown = arrange(apps, prefs)
  const pinned = new Set(prefs.pinnedApps)
  const list = $('[data-app-list]')
  list.dataset.layout = prefs.layout
  list.replaceChildren(...shown.map((a) => row(a, pinned.has(a.name))))
  $('[data-apps-empty]').hidden = !loaded || apps.length > 0
  const count = $('[data-apps-count]')
  const filter = prefs.filter.trim()
  if (filter && apps.length > 0) {
    const clear = el('button', { type: 'button', class: 'link small', 'data-action': 'clear-filter' }, 'Clear filter')
    clear.addEventListener('click', () => setFilter(''))
    count.replaceChildren(shown.length === 0 ? `No app matches “${filter}”. ` : `${shown.length} of ${apps.length} apps match “${filter}”. `, clear)
    count.hidden = false
  } else {
    count.replaceChildren()
    count.hidden = true
  }
  for (const b of $$<HTMLButtonElement>('[data-layout-choice]')) b.setAttribute('aria-pressed', String(b.dataset.layoutChoice === prefs.layout))
}

/** PUTs not answered yet. */
let pending = 0

/** Say in data-prefs-state whether every change is saved ("saving", "saved", "error"). */
function markState(): void {
  const panel = $('[data-panel="apps"]')
  if (panel.dataset.prefsState === 'error' && pending === 0) return
  panel.dataset.prefsState = pending > 0 || filterTimer ? 'saving' : 'saved'
}

/** Save a change for this identity. */
function save(patch: Partial<Preferences>): void {
  pending++
  markState()
  savePreferences(patch).then(
    () => {
      pending--
      markState()
    },
    (err) => {
      pending--
      $('[data-panel="apps"]').dataset.prefsState = 'error'
      say($('[data-apps-error]'), `Could not save your preference: ${messageOf(err)}`)
    },
  )
}

function setFilter(value: string): void {
  clearTimeout(filterTimer)
  filterTimer = undefined
  typed = null
  const input = $<HTMLInputElement>('[data-apps-filter]')
  if (input.value !== value) input.value = value
  if (value !== preferences().filter) save({ filter: value })
  else markState()
  render()
}

function togglePin(name: string): void {
  const pinned = preferences().pinnedApps
  // Names of apps that no longer exist are dropped on the way (the list stays small).
  const known = new Set(apps.map((a) => a.name))
  const next = pinned.includes(name) ? pinned.filter((n) => n !== name) : [...pinned.filter((n) => known.has(n)), name]
  save({ pinnedApps: next.slice(-100) })
  render()
  // Keep the keyboard focus on the same app's pin button after it moved.
  $$<HTMLButtonElement>('[data-app-pin]').find((b) => b.dataset.appPin === name)?.focus()
}

export async function refreshApps(): Promise<void> {
  const error = $('[data-apps-error]')
  try {
    const [answer] = await Promise.all([api<{ apps: AppInfo[] }>('/api/apps'), loadPreferences()])
    apps = answer.apps
    loaded = true
    say(error, null)
  } catch (err) {
    say(error, messageOf(err))
    return
  }
  render()
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
  if (action === 'share') return openShare(name)
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

/** Show the saved filter, sort and layout in the toolbar once the preferences are known. */
async function restoreToolbar(): Promise<void> {
  const prefs = await loadPreferences()
  // Typing before the answer came wins over the saved filter.
  if (typed === null) $<HTMLInputElement>('[data-apps-filter]').value = prefs.filter
  $<HTMLSelectElement>('[data-apps-sort]').value = prefs.sort
  render()
}

export function initAppsPanel(): void {
  $('[data-app-list]').addEventListener('click', (e) => {
    const target = e.target as HTMLElement
    const pin = target.closest<HTMLButtonElement>('button[data-app-pin]')
    if (pin) return togglePin(pin.dataset.appPin!)
    const button = target.closest<HTMLButtonElement>('button[data-app-action]')
    if (button) void act(button)
  })
  $('[data-action="refresh-apps"]').addEventListener('click', () => void refreshApps())

  const input = $<HTMLInputElement>('[data-apps-filter]')
  input.addEventListener('input', () => {
    // Filter at once; save when typing pauses.
    clearTimeout(filterTimer)
    typed = input.value
    filterTimer = setTimeout(() => setFilter(input.value), FILTER_SAVE_DELAY_MS)
    markState()
    render()
  })
  input.addEventListener('change', () => setFilter(input.value))
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && input.value) setFilter('')
  })
  const sort = $<HTMLSelectElement>('[data-apps-sort]')
  sort.addEventListener('change', () => {
    save({ sort: sort.value as Preferences['sort'] })
    render()
  })
  for (const b of $$<HTMLButtonElement>('[data-layout-choice]')) {
    b.addEventListener('click', () => {
      const layout = b.dataset.layoutChoice as Preferences['layout']
      if (layout === preferences().layout) return
      save({ layout })
      render()
    })
  }
  void restoreToolbar()
}
