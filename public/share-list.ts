/** Share links under Devices (GET /api/shares, admin): app, expiry, how many opened it, and "Revoke". */
import { api, messageOf } from './api.ts'
import { $, badge, busy, el, say } from './dom.ts'
import type { Share } from './share-panel.ts'

function opened(s: Share): string {
  const of = s.maxDevices === null ? '' : ` of ${s.maxDevices}`
  return `opened by ${s.opened}${of} device${(s.maxDevices ?? s.opened) === 1 ? '' : 's'}, ${s.devices} signed in`
}

export async function refreshShares(): Promise<void> {
  const error = $('[data-shares-error]')
  let shares: Share[]
  try {
    shares = (await api<{ shares: Share[] }>('/api/shares')).shares
    say(error, null)
  } catch (err) {
    say(error, messageOf(err))
    return
  }
  $('[data-share-list]').replaceChildren(
    ...shares.map((s) => {
      const revoke = el('button', { type: 'button', class: 'danger small', 'data-share-revoke': s.id, 'aria-label': `Revoke the share link of ${s.app}` }, 'Revoke')
      revoke.addEventListener('click', async () => {
        try {
          await busy(revoke, () => api(`/api/shares/${encodeURIComponent(s.id)}`, { method: 'DELETE' }))
        } catch (err) {
          say(error, messageOf(err))
        }
        await refreshShares()
      })
      return el(
        'li',
        { class: 'device', 'data-share': s.id, 'data-share-app': s.app },
        el('div', { class: 'grow' },
          el('strong', {}, s.app), ' ', s.viewOnly ? badge('view only', 'off') : badge('full', 'on'),
          el('p', { class: 'app-meta', 'data-share-facts': s.id }, `${opened(s)} · expires ${new Date(s.expiresAt).toLocaleString()} · by ${s.createdBy}`),
        ),
        revoke,
      )
    }),
  )
  $('[data-shares-empty]').hidden = shares.length > 0
}

export function initShareList(): void {
  $('[data-action="refresh-shares"]').addEventListener('click', () => void refreshShares())
}
