/** "This machine": bind host, ports, token state, allowed origins (GET /api/access). */
import { api } from './api.ts'
import { $, badge, fillFacts } from './dom.ts'

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

export async function renderMachine(): Promise<void> {
  const a = await api<Access>('/api/access')
  fillFacts($('[data-machine-facts]'), [
    ['Network access', a.remoteAccess ? badge('On', 'on') : badge('Off (this machine only)', 'off')],
    ['Listening on', a.bindHost],
    ['Ports', `dashboard ${a.port}, API ${a.apiPort}`],
    ['Access token', a.insecureNoAuth ? badge('OFF (--insecure-no-auth)', 'warn') : badge(a.tokenFixed ? 'Required (fixed)' : 'Required (rotates on restart)', 'on')],
    ['Allowed origins', a.allowedOrigins.length ? a.allowedOrigins.join(', ') : 'none'],
  ])
  $('[data-machine-hint]').textContent = a.remoteAccess
    ? 'Other devices need the token, a login link or an API key.'
    : 'Start latchkey with --host 0.0.0.0, or start a tunnel, to reach it from another device.'
}
