/** "This machine": bind host, ports, token state, allowed origins (GET /api/access). */
import { api } from './api.ts'
import { $, badge, el, fillFacts } from './dom.ts'
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
  const with_ = (b: HTMLElement, text: string) => el('span', {}, b, ` ${text}`)
  fillFacts($('[data-machine-facts]'), [
    ['Network', a.remoteAccess ? with_(badge('Open', 'on'), 'other devices connect with a credential') : with_(badge('Closed', 'off'), 'this machine only')],
    ['Listening on', [a.bindHost, ...a.opened].join(', ')],
    ['Ports', `dashboard ${a.port}, API ${a.apiPort}`],
    [
      'Access token',
      a.insecureNoAuth
        ? badge('OFF (--insecure-no-auth)', 'warn')
        : here
          ? with_(badge('Not needed here', 'on'), `other devices need it (${token})`)
          : with_(badge('Required', 'on'), `(${token})`),
    ],
    ['Allowed origins', a.allowedOrigins.length ? a.allowedOrigins.join(', ') : 'none'],
  ])
  $('[data-machine-hint]').textContent = a.remoteAccess
    ? 'Other devices need the token, a login link or an API key.'
    : 'Open latchkey on one of this machine\'s addresses (Connect), or start a tunnel, to reach it from another device.'
}
