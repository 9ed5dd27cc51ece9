/** Dashboard entry: wires the panels. */
import { api } from './api.ts'
import { $, showError } from './dom.ts'
import { renderStatus } from './status-panel.ts'
import { renderConnect } from './connect-panel.ts'
import { renderTunnel } from './tunnel-panel.ts'

interface WhoAmI {
  role: string
  method: string
  local: boolean
}

async function boot(): Promise<void> {
  try {
    const me = await api<WhoAmI>('/api/whoami')
    $('[data-whoami]').textContent = `${me.local ? 'This machine' : 'Remote device'} · ${me.role}`
    document.body.dataset.role = me.role
    await Promise.all([renderStatus(), renderConnect(), renderTunnel()])
    showError(null)
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err))
  }
}

document.addEventListener('DOMContentLoaded', () => void boot())
