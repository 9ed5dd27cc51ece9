/** "This machine": bind host, ports, token state, allowed origins (GET /api/access). */
import { api } from './api.ts'
import { $, badge, fillFacts } from './dom.ts'
import { me } from './me.ts'

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
  opened: string[]
  deviceEverSignedIn: boolean
}

export async function renderMachine(): Promise<void> {
  const a = await api<Access>('/api/access')
  const here = me().local
  const token = a.tokenFixed ? 'fixed' : 'new at every start'
  fillFacts($('[data-machine-facts]'), [
    ['Other devices on the network', a.remoteAccess ? badge('Can connect, with a credential', 'on') : badge('Cannot connect (this machine only)', 'off')],
    ['Listening on', [a.bindHost, ...a.opened].join(', ')],
    ['Ports', `dashboard ${a.port}, API ${a.apiPort}`],
    [
      'Access token',
      a.insecureNoAuth
        ? badge('OFF (--insecure-no-auth)', 'warn')
        : badge(here ? `Not needed on this machine; other devices need it (${token})` : `Required (${token})`, 'on'),
    ],
    ['Allowed origins', a.allowedOrigins.length ? a.allowedOrigins.join(', ') : 'none'],
  ])
  $('[data-machine-hint]').textContent = a.remoteAccess
    ? 'Other devices need the token, a login link or an API key.'
    : 'Open latchkey on one of this machine\'s addresses (Connect), or start a tunnel, to reach it from another device.'
}
