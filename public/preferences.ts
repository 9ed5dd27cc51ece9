/**
 * The caller's own dashboard preferences (GET/PUT /api/preferences, issue 12): theme, apps
 * layout, sort, pinned apps and the apps filter. The server keys them by the caller's identity
 * (local user, Tailscale user, device session), so a viewer only ever reads and changes their
 * own. Loaded once per page; each change is a partial PUT of the fields that changed.
 */
import { api } from './api.ts'

export interface Preferences {
  theme: 'system' | 'light' | 'dark'
  layout: 'list' | 'grid'
  sort: 'name' | 'status' | 'recent'
  pinnedApps: string[]
  filter: string
}

export const DEFAULTS: Readonly<Preferences> = { theme: 'system', layout: 'list', sort: 'name', pinnedApps: [], filter: '' }

let enabled = false
let loading: Promise<Preferences> | null = null
let saving: Promise<void> = Promise.resolve()
let current: Preferences = { ...DEFAULTS, pinnedApps: [] }

/** Keep only well-formed fields of a server answer; anything else stays at its default. */
function sanitize(raw: unknown): Preferences {
  const p = (raw ?? {}) as Record<string, unknown>
  const pick = <T extends string>(v: unknown, allowed: readonly T[], fallback: T): T => (allowed as readonly unknown[]).includes(v) ? (v as T) : fallback
  return {
    theme: pick(p.theme, ['system', 'light', 'dark'] as const, DEFAULTS.theme),
    layout: pick(p.layout, ['list', 'grid'] as const, DEFAULTS.layout),
    sort: pick(p.sort, ['name', 'status', 'recent'] as const, DEFAULTS.sort),
    pinnedApps: Array.isArray(p.pinnedApps) ? p.pinnedApps.filter((n): n is string => typeof n === 'string') : [],
    filter: typeof p.filter === 'string' ? p.filter : '',
  }
}

/** The preferences saved for this identity (defaults when the server has none or cannot say). */
export function loadPreferences(hasPreferencesApi = enabled): Promise<Preferences> {
  enabled = hasPreferencesApi
  loading ??= (async () => {
    if (!enabled) return current
    try {
      const answer = await api<{ preferences?: unknown }>('/api/preferences')
      current = sanitize(answer?.preferences)
    } catch {
      // An older latchkey without the endpoint: keep the defaults, save nothing.
      enabled = false
    }
    return current
  })()
  return loading
}

/** Whether preferences are kept on the server for this identity (else only on this page). */
export function serverPreferences(): boolean {
  return enabled
}

/** What is in effect now (defaults until loadPreferences has answered). */
export function preferences(): Readonly<Preferences> {
  return current
}

/**
 * Change some fields: in effect at once, then saved for this identity (a partial PUT, so
 * changes of different fields never undo each other). Rejects with the server's error; the
 * change stays in effect on this page.
 */
export function savePreferences(patch: Partial<Preferences>): Promise<void> {
  current = { ...current, ...patch }
  if (!enabled) return Promise.resolve()
  // One PUT at a time, in order: a quick second change of the filter must land last.
  const put = saving.then(() => api('/api/preferences', { method: 'PUT', body: patch })).then(() => undefined)
  saving = put.catch(() => undefined)
  return put
}
