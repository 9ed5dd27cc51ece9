/** Per-app access log for admins (GET /api/apps/:name/access-log), newest first. */
import { api, messageOf } from './api.ts'
import { $, el, say } from './dom.ts'

// The server's own type (a type-only import: nothing from src/ reaches the bundle).
import type { AccessEntry as Entry } from '../src/apps/access-log.ts'

export async function showAccessLog(name: string): Promise<void> {
  const panel = $('[data-panel="access-log"]')
  panel.hidden = false
  panel.dataset.app = name
  $('[data-log-title]').textContent = `Access log: ${name}`
  const rows = $('[data-log-rows]')
  try {
    const { entries } = await api<{ entries: Entry[] }>(`/api/apps/${encodeURIComponent(name)}/access-log?limit=100`)
    rows.replaceChildren(
      ...entries.map((e) =>
        el(
          'tr',
          {},
          el('td', {}, new Date(e.time).toLocaleString()),
          el('td', {}, e.identity),
          el('td', { class: 'path' }, `${e.method} ${e.path}`),
          el('td', { class: e.status >= 500 ? 'error-text' : '' }, String(e.status)),
          el('td', {}, `${e.durationMs} ms`),
        ),
      ),
    )
    say($('[data-log-empty]'), entries.length ? null : 'No requests yet.')
  } catch (err) {
    rows.replaceChildren()
    say($('[data-log-empty]'), messageOf(err))
  }
  panel.scrollIntoView({ block: 'nearest' })
}

export function initAccessLogPanel(): void {
  $('[data-action="close-log"]').addEventListener('click', () => {
    $('[data-panel="access-log"]').hidden = true
  })
}
