/**
 * "Reach this machine" (Connect view): this machine's addresses with their interface and
 * kind of network (GET /api/network), each openable to the network at once and closable
 * again while latchkey runs, and the tunnel, with a way to start one. Opening is for the
 * local user only; the server says so to anyone else.
 */
import { api, messageOf } from './api.ts'
import { $, busy, el, onAction, say } from './dom.ts'
import { me } from './me.ts'
import { onStatus, publish, type RemoteStatus } from './live-status.ts'

interface Address {
  address: string
  family: 'IPv4' | 'IPv6'
  interface: string
  kind: 'lan' | 'tailnet' | 'container' | 'public'
  defaultRoute: boolean
  open: boolean
  openedHere: boolean
  url: string | null
}

export interface Network {
  host: string
  port: number
  everywhere: boolean
  lasts: 'until-stop'
  addresses: Address[]
}

const KINDS: Record<Address['kind'], string> = { lan: 'LAN', tailnet: 'tailnet', container: 'container bridge', public: 'public' }

let changed: () => void | Promise<void> = () => {}

function row(a: Address, net: Network): HTMLLIElement {
  const where = `${a.interface} · ${KINDS[a.kind]}${a.defaultRoute ? ' · default route' : ''}`
  const state = a.open ? el('span', { class: 'badge on' }, 'listening') : el('span', { class: 'badge off' }, 'closed')
  const li = el('li', { 'data-address': a.address }, el('span', { class: 'address' }, a.address), el('span', { class: 'where' }, where), state)
  if (!net.everywhere && (a.openedHere || !a.open) && me().local) {
    const button = el('button', { type: 'button', class: a.openedHere ? 'secondary small' : 'small', 'data-address-action': a.openedHere ? 'close' : 'open' }, a.openedHere ? 'Close' : 'Open')
    button.addEventListener('click', () => void toggle(button, a))
    li.append(button)
  }
  return li
}

async function toggle(button: HTMLButtonElement, a: Address): Promise<void> {
  const error = $('[data-reach-error]')
  say(error, null)
  try {
    const net = await busy(button, () => api<Network>(`/api/network/${a.openedHere ? 'close' : 'open'}`, { method: 'POST', body: { address: a.address } }))
    show(net)
    await changed()
  } catch (err) {
    say(error, messageOf(err))
  }
}

function show(net: Network): void {
  $('[data-address-list]').replaceChildren(...net.addresses.map((a) => row(a, net)))
  $('[data-reach-hint]').textContent = net.everywhere
    ? `latchkey listens on every address (--host ${net.host || '0.0.0.0'}). Every device needs the token, a login link or an API key.`
    : me().local
      ? `latchkey listens on ${net.host} only. Open it on an address the other device can reach: it listens there at once, until latchkey stops (start it with --host <address> to open one at every start). Every device there needs a credential.`
      : `latchkey listens on ${net.host}. Addresses are opened from the dashboard on the machine itself.`
}

function showTunnel(s: RemoteStatus): void {
  const text = s.state === 'running' && s.url ? `Running: ${s.url}` : s.state === 'starting' ? 'Starting…' : s.provider ? `Stopped (${s.provider})` : 'No tunnel is set up.'
  $('[data-reach-tunnel]').textContent = text
  $('[data-action="reach-start-tunnel"]').hidden = !(s.provider && (s.state === 'stopped' || s.state === 'failed'))
  $('[data-reach-setup]').hidden = !!s.provider
}

export async function renderReach(): Promise<void> {
  show(await api<Network>('/api/network'))
}

/** `onChanged`: what else to refresh once an address opens or closes (the QR's candidates). */
export function initReachPanel(onChanged: () => void | Promise<void>): void {
  changed = onChanged
  onStatus(showTunnel)
  onAction($('[data-panel="reach"]'), 'reach-start-tunnel', async (button) => {
    const error = $('[data-reach-error]')
    say(error, null)
    try {
      publish(await busy(button, () => api<RemoteStatus>('/api/remote/tunnel/start', { method: 'POST' })))
    } catch (err) {
      say(error, messageOf(err))
    }
  })
}
