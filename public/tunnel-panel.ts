/**
 * The tunnel (runbook §2.3, §4.1): state, provider, URL, last error with its code, restore
 * diagnostics, live; Start/Stop with visible progress; "Use existing" / "Start fresh" when
 * an external funnel is detected. Buttons are for admins only.
 */
import { api, messageOf } from './api.ts'
import { $, busy, el, fillFacts, onAction, say } from './dom.ts'
import { isAdmin } from './me.ts'
import { onStatus, publish, type RemoteStatus } from './live-status.ts'

const PROVIDERS: Record<string, string> = { tailscale: 'Tailscale', cloudflare: 'Cloudflare' }
const KINDS: Record<string, string> = {
  'tailscale-funnel': 'Tailscale Funnel',
  'tailscale-serve': 'Tailscale Serve',
  'cloudflare-named': 'Cloudflare named tunnel',
  'cloudflare-quick': 'Cloudflare quick tunnel',
}
const PROGRESS: Record<RemoteStatus['state'], string> = {
  stopped: '',
  starting: 'Starting… waiting for the provider to report its URL',
  running: '',
  stopping: 'Stopping…',
  failed: '',
}

/** The external tunnel the user chose to keep using ("Use existing"). */
let adoptedExternal: string | null = null

function restoreText(r: RemoteStatus['restore']): Node | string {
  if (r.reason === 'not_attempted') return 'not attempted yet'
  const at = r.at ? ` · ${new Date(r.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : ''
  return el('span', {}, `${r.outcome}: `, el('code', {}, r.reason), at, r.message ? el('span', { class: 'app-meta' }, ` ${r.message}`) : null)
}

function render(s: RemoteStatus): void {
  const panel = $('[data-panel="tunnel"]')
  panel.dataset.state = s.state
  const url = s.url ? el('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer', 'data-tunnel-url': true }, s.url) : '—'
  const facts: [string, string | Node][] = [
    ['State', el('span', { class: `badge state-${s.state}`, 'data-tunnel-state': s.state }, s.state)],
    ['Provider', s.kind ? KINDS[s.kind] ?? s.kind : s.provider ? PROVIDERS[s.provider] : 'none selected'],
    ['URL', url],
  ]
  if (s.lastError) {
    facts.push(['Last error', el('span', { class: 'error-text', 'data-tunnel-last-error': true }, s.lastErrorCode ? el('code', {}, s.lastErrorCode) : null, ' ', s.lastError)])
  }
  facts.push(['Restore', restoreText(s.restore)])
  fillFacts($('[data-tunnel-facts]'), facts)
  $('[data-tunnel-progress]').textContent = PROGRESS[s.state]

  const ext = s.externalTunnel
  const extBox = $('[data-external]')
  extBox.hidden = !ext
  if (ext) {
    const adopted = adoptedExternal === ext.url
    $('[data-external-text]').replaceChildren(
      adopted ? 'Using the tunnel that was already running: ' : `A ${ext.funnel ? 'Tailscale Funnel' : 'Tailscale Serve'} that latchkey did not start is running at `,
      el('a', { href: ext.url, target: '_blank', rel: 'noopener noreferrer' }, ext.url),
      adopted ? '' : '. Keep using it, or turn it off and start latchkey\'s own tunnel.',
    )
  }
  if (isAdmin()) {
    const active = s.state === 'starting' || s.state === 'running' || s.state === 'stopping'
    $<HTMLButtonElement>('[data-action="tunnel-start"]').disabled = active || !s.provider
    $<HTMLButtonElement>('[data-action="tunnel-stop"]').disabled = !active || s.state === 'stopping'
  }
}

export function initTunnelPanel(): void {
  const panel = $('[data-panel="tunnel"]')
  const error = $('[data-tunnel-error]')
  onStatus(render)
  if (!isAdmin()) return
  const run = (path: string) => async (button: HTMLButtonElement) => {
    say(error, null)
    try {
      await busy(button, async () => {
        const res = await api<RemoteStatus | { status: RemoteStatus }>(path, { method: 'POST' })
        publish('status' in res ? res.status : res)
      })
    } catch (err) {
      say(error, messageOf(err))
    }
  }
  onAction(panel, 'tunnel-start', run('/api/remote/tunnel/start'))
  onAction(panel, 'tunnel-stop', run('/api/remote/tunnel/stop'))
  onAction(panel, 'use-existing', () => {
    const s = document.querySelector<HTMLElement>('[data-external-text] a')
    adoptedExternal = s?.getAttribute('href') ?? null
    $('[data-external] .actions').hidden = true
    const text = $('[data-external-text]')
    text.replaceChildren('Using the tunnel that was already running: ', el('a', { href: adoptedExternal ?? '#', target: '_blank', rel: 'noopener noreferrer' }, adoptedExternal ?? ''))
  })
  onAction(panel, 'start-fresh', async (button) => {
    say(error, null)
    try {
      await busy(button, async () => {
        await api('/api/remote/tunnel/kill-external', { method: 'POST' })
        publish(await api<RemoteStatus>('/api/remote/tunnel/start', { method: 'POST' }))
      })
    } catch (err) {
      say(error, messageOf(err))
    }
  })
}

