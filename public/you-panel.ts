/** "You": who latchkey thinks you are (GET /api/whoami), the theme, and signing this device out. */
import { api, messageOf } from './api.ts'
import { $, badge, busy, fillFacts, onAction, showError } from './dom.ts'
import { me } from './me.ts'
import { setTheme, storedTheme, type Theme } from './theme.ts'

const METHODS: Record<string, string> = {
  loopback: 'this machine (loopback)',
  'private-network': 'private network (adminAllowLocalhost)',
  'insecure-no-auth': 'no authentication (--insecure-no-auth)',
  'access-token': 'access token',
  'api-key': 'API key',
  session: 'signed-in browser session',
  tailscale: 'Tailscale identity',
  'tailscale-serve': 'Tailscale Serve identity',
}

export function renderYou(): void {
  const w = me()
  const facts: [string, string | Node][] = [
    ['Role', badge(w.role, w.role === 'admin' ? 'on' : 'off')],
    ['Signed in with', METHODS[w.method] ?? w.method],
    ['Address', w.address],
  ]
  if (w.tailscale) facts.push(['Tailscale user', `${w.tailscale.displayName || w.tailscale.loginName}${w.tailscale.id ? ` (ID ${w.tailscale.id})` : ''}`])
  if (w.session) facts.push(['Session ends', new Date(w.session.expiresAt).toLocaleString()])
  fillFacts($('[data-you-facts]'), facts)
  $('[data-signout-row]').hidden = !w.session
}

/** Show the theme in effect (after the server's preference arrives). */
export function showTheme(theme: Theme): void {
  $<HTMLSelectElement>('[data-theme-select]').value = theme
}

export function initYouPanel(): void {
  const select = $<HTMLSelectElement>('[data-theme-select]')
  select.value = storedTheme()
  select.addEventListener('change', () => {
    void setTheme(select.value as Theme).catch((err) => showError(messageOf(err)))
  })
  onAction($('[data-panel="you"]'), 'sign-out', async (button) => {
    try {
      await busy(button, () => api('/api/session/logout', { method: 'POST' }))
      location.assign('/')
    } catch (err) {
      showError(messageOf(err))
    }
  })
}
