/**
 * "This machine": bind host, ports, token state, allowed origins (GET /api/access), and the
 * outcome of the last config reload (`reload` in the live remote status).
 */
import { api } from './api.ts'
import { $, badge, el, fillFacts } from './dom.ts'
import { me } from './me.ts'
import { onStatus, type RemoteStatus } from './live-status.ts'

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

const TRIGGERS = { signal: 'SIGHUP or latchkey reload', file: 'latchkey.yaml changed' }

/** The reload shown last (undefined until the first status). */
let shownAt: string | null | undefined

/** One line under the facts: when the config was last reloaded, and what came of it. */
function showReload(status: RemoteStatus): void {
  const node = $('[data-reload-status]')
  const r = status.reload
  // Answers to actions carry it too; a status without the field leaves the line as it is.
  if (r === undefined) return
  // A reload that applied while the page is open may change the facts above (allowed origins).
  if (shownAt !== undefined && r && r.at !== shownAt && r.ok && r.applied.length) void renderMachine().catch(() => {})
  shownAt = r?.at ?? null
  node.hidden = !r
  if (!r) return node.replaceChildren()
  const when = new Date(r.at).toLocaleTimeString()
  node.dataset.reloadOk = String(r.ok)
  const parts: (string | Node)[] = r.ok
    ? [badge('Config reloaded', 'on'), `${when} (${TRIGGERS[r.trigger] ?? r.trigger}): ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'nothing changed'}.`]
    : [badge('Config reload refused', 'state-failed'), `${when} (${TRIGGERS[r.trigger] ?? r.trigger}): ${r.error}. The running configuration is unchanged.`]
  if (r.ok && r.needsRestart.length) parts.push(' ', badge('Restart needed', 'warn'), `for ${r.needsRestart.join(', ')}.`)
  node.replaceChildren(...parts)
}

export function initReloadStatus(): void {
  onStatus(showReload)
}
