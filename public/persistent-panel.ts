/**
 * The persistent login link (runbook §6.1): masked token state, "Show authenticated URL"
 * with a copy button and a warning, and "Regenerate" behind an inline confirmation.
 */
import { api, messageOf } from './api.ts'
import { $, busy, fillFacts, onAction, say, secretField } from './dom.ts'

interface Summary {
  remoteAccess: { tokenStrategy: { persistent: { enabled: boolean; token: string | null } } }
}

export async function renderPersistent(): Promise<void> {
  const s = await api<Summary>('/api/remote/settings')
  const p = s.remoteAccess.tokenStrategy.persistent
  fillFacts($('[data-persistent-facts]'), [
    ['Status', p.enabled ? 'Enabled' : 'Disabled in provider settings'],
    ['Token', p.token ?? 'not generated yet'],
  ])
}

export function initPersistentPanel(): void {
  const panel = $('[data-panel="persistent"]')
  const error = $('[data-persistent-error]')
  const note = $('[data-persistent-note]')
  const confirm = $('[data-regenerate-confirm]')
  const row = $('[data-persistent-link-row]')
  const input = $<HTMLInputElement>('[data-persistent-link]')
  secretField(input, null, $<HTMLButtonElement>('[data-action="copy-persistent"]'))
  onAction(panel, 'show-url', async (button) => {
    say(error, null)
    if (!row.hidden) {
      row.hidden = true
      input.value = ''
      button.textContent = 'Show authenticated URL'
      return
    }
    try {
      const link = await busy(button, () => api<{ url: string }>('/api/remote/url?tokenType=persistent'))
      input.value = link.url
      row.hidden = false
      button.textContent = 'Hide authenticated URL'
    } catch (err) {
      say(error, messageOf(err))
    }
  })
  onAction(panel, 'regenerate', () => {
    confirm.hidden = false
    $<HTMLButtonElement>('[data-action="regenerate-cancel"]').focus()
  })
  onAction(panel, 'regenerate-cancel', () => {
    confirm.hidden = true
  })
  onAction(panel, 'regenerate-confirm', async (button) => {
    say(error, null)
    try {
      const r = await busy(button, () => api<{ revokedSessions: number }>('/api/remote/token/persistent/regenerate', { method: 'POST' }))
      confirm.hidden = true
      row.hidden = true
      input.value = ''
      $('[data-action="show-url"]').textContent = 'Show authenticated URL'
      note.textContent = `New token generated; ${r.revokedSessions} device${r.revokedSessions === 1 ? '' : 's'} signed out.`
      await renderPersistent()
    } catch (err) {
      say(error, messageOf(err))
    }
  })
}
