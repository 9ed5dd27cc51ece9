/**
 * Dark mode: follows the system unless the user picks light or dark. The choice is kept
 * per identity with GET/PUT /api/preferences, and in localStorage for the first paint
 * (before the server answers).
 */
import { api } from './api.ts'

export type Theme = 'system' | 'light' | 'dark'
const KEY = 'latchkey.theme'
const THEMES: readonly Theme[] = ['system', 'light', 'dark']

const valid = (v: unknown): v is Theme => typeof v === 'string' && (THEMES as readonly string[]).includes(v)

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme
}

export function storedTheme(): Theme {
  try {
    const v = localStorage.getItem(KEY)
    return valid(v) ? v : 'system'
  } catch {
    return 'system'
  }
}

function remember(theme: Theme): void {
  try {
    localStorage.setItem(KEY, theme)
  } catch {}
}

/** Whether this latchkey serves per-user preferences (issue 12). */
let serverPreferences = false

/** Apply the stored theme, then the one saved for this identity on the server (if any). */
export async function loadTheme(hasPreferencesApi: boolean): Promise<Theme> {
  applyTheme(storedTheme())
  serverPreferences = hasPreferencesApi
  if (!serverPreferences) return storedTheme()
  try {
    const prefs = await api<{ theme?: unknown; preferences?: { theme?: unknown } }>('/api/preferences')
    const theme = prefs?.theme ?? prefs?.preferences?.theme
    if (valid(theme)) {
      applyTheme(theme)
      remember(theme)
    }
  } catch {
    serverPreferences = false
  }
  return storedTheme()
}

export async function setTheme(theme: Theme): Promise<void> {
  applyTheme(theme)
  remember(theme)
  if (serverPreferences) await api('/api/preferences', { method: 'PUT', body: { theme } })
}
