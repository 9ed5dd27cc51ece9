/** Remote access status: bind host, ports, token state, allowed origins. */
import { api } from './api.ts'
import { $, el, fillFacts } from './dom.ts'

export interface Access {
  mode: string
  bindHost: string
  port: number
  apiPort: number
  remoteAccess: boolean
  tokenRequired: boolean
  tokenFixed: boolean
  insecureNoAuth: boolean
  allowedOrigins: string[]
  apiBase: string | null
}

export async function renderStatus(): Promise<Access> {
  const a = await api<Access>('/api/access')
  const badge = (on: boolean, yes: string, no: string) => el('span', { class: `badge ${on ? 'on' : 'off'}` }, on ? yes : no)
  fillFacts($('[data-status-facts]'), [
    ['Remote access', badge(a.remoteAccess, 'On', 'Off (this machine only)')],
    ['Listening on', a.bindHost],
    ['Dashboard port', String(a.port)],
    ['API port', String(a.apiPort)],
    ['Access token', a.insecureNoAuth ? el('span', { class: 'badge warn' }, 'OFF (--insecure-no-auth)') : badge(true, a.tokenFixed ? 'Required (fixed)' : 'Required (rotates on restart)', '')],
    ['Allowed origins', a.allowedOrigins.length ? a.allowedOrigins.join(', ') : 'none'],
  ])
  $('[data-status-hint]').textContent = a.remoteAccess
    ? 'Other devices need the token, a login link or an API key on every request.'
    : 'Start latchkey with --host 0.0.0.0 (or start a tunnel) to reach it from another device.'
  return a
}
