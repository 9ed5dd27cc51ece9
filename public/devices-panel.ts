/** Signed-in devices (GET /api/remote/sessions, admin), each with "Sign out", and the share links beside them (share-list.ts). */
import { api, messageOf } from './api.ts'
import { $, ago, badge, busy, el, say } from './dom.ts'
import { initShareList, refreshShares } from './share-list.ts'

interface Device {
  id: string
  userAgent: string
  firstSeenAt: string
  lastSeenAt: string
  expiresAt: string
  role: string
  issuer: string
  persistent: boolean
  /** Where it signed in from; null for sessions older than this field. */
  address: string | null
  current: boolean
}

const ISSUERS: Record<string, string> = { 'access-token': 'access token', persistent: 'persistent link', 'short-lived': 'one-time link', share: 'share link' }

/** "Chrome on Android" from a user agent, without any library. */
export function describeAgent(ua: string): string {
  if (!ua) return 'Unknown device'
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : /curl\//.test(ua) ? 'curl' : 'Browser'
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : ''
  return os ? `${browser} on ${os}` : browser
}

export async function refreshDevices(): Promise<void> {
  void refreshShares()
  const error = $('[data-sessions-error]')
  let devices: Device[]
  try {
    devices = (await api<{ sessions: Device[] }>('/api/remote/sessions')).sessions
    say(error, null)
  } catch (err) {
    say(error, messageOf(err))
    return
  }
  $('[data-session-list]').replaceChildren(
    ...devices.map((d) => {
      const signOut = el('button', { type: 'button', class: 'secondary small', 'data-session-signout': d.id, 'aria-label': `Sign out ${describeAgent(d.userAgent)}` }, 'Sign out')
      signOut.addEventListener('click', async () => {
        try {
          await busy(signOut, () => api(`/api/remote/sessions/${encodeURIComponent(d.id)}`, { method: 'DELETE' }))
          if (d.current) return location.assign('/')
        } catch (err) {
          say(error, messageOf(err))
        }
        await refreshDevices()
      })
      return el(
        'li',
        { class: 'device', 'data-session': d.id },
        el('div', { class: 'grow' },
          el('strong', {}, describeAgent(d.userAgent)), ' ', badge(d.role, d.role === 'admin' ? 'on' : 'off'), d.current ? badge('this device', 'warn') : null,
          el('p', { class: 'app-meta' }, `via ${ISSUERS[d.issuer] ?? d.issuer}${d.address ? ` from ${d.address}` : ''} · last seen ${ago(d.lastSeenAt)} · until ${new Date(d.expiresAt).toLocaleDateString()}`),
        ),
        signOut,
      )
    }),
  )
  $('[data-sessions-empty]').hidden = devices.length > 0
}

export function initDevicesPanel(): void {
  initShareList()
  $('[data-action="refresh-sessions"]').addEventListener('click', () => void refreshDevices())
}
