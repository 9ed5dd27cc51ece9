/** Tunnel status from GET /api/remote/status. */
import { api } from './api.ts'
import { $, el, fillFacts } from './dom.ts'

interface Status {
  state: string
  provider: string | null
  url: string | null
  lastError: string | null
  lastErrorCode: string | null
}

export async function renderTunnel(): Promise<void> {
  const s = await api<Status>('/api/remote/status')
  fillFacts($('[data-tunnel-facts]'), [
    ['State', el('span', { class: `badge state-${s.state}` }, s.state)],
    ['Provider', s.provider ?? 'none selected'],
    ['URL', s.url ?? '—'],
    ...(s.lastError ? ([['Last error', `${s.lastErrorCode ?? ''} ${s.lastError}`.trim()]] as [string, string][]) : []),
  ])
}
