/**
 * Dark mode: follows the system unless the user picks light or dark. The choice is kept
 * per identity with GET/PUT /api/preferences, and in localStorage for the first paint
 * (before the server answers).
 */
import { loadPreferences, savePreferences, serverPreferences } from './preferences.ts'

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

/** Apply the stored theme, then the one saved for this identity on the server (if any). */
export async function loadTheme(hasPreferencesApi: boolean): Promise<Theme> {
  applyTheme(storedTheme())
  if (!hasPreferencesApi) return storedTheme()
  const saved = await loadPreferences(hasPreferencesApi)
  if (serverPreferences() && valid(saved.theme)) {
    applyTheme(saved.theme)
    remember(saved.theme)
  }
  return storedTheme()
}

export async function setTheme(theme: Theme): Promise<void> {
  applyTheme(theme)
  remember(theme)
  await savePreferences({ theme })
}
