/** Dashboard entry: learns who is looking, removes what their role cannot use, wires the panels. */
import { messageOf } from './api.ts'
import { $, $$, showError } from './dom.ts'
import { isAdmin, loadMe, type WhoAmI } from './me.ts'
import { onShow, setLanding, startRouter } from './router.ts'
import { applyTheme, loadTheme, storedTheme } from './theme.ts'
import { startLiveStatus } from './live-status.ts'
import { initTunnelPanel } from './tunnel-panel.ts'
import { initProviderForm } from './provider-form.ts'
import { initReloadStatus, renderMachine, type Access } from './machine-panel.ts'
import { api } from './api.ts'
import { initConnectPanel, renderConnect } from './connect-panel.ts'
import { initReachPanel, renderReach } from './reach-panel.ts'
import { initLoginLinksPanel } from './login-links-panel.ts'
import { initPersistentPanel, renderPersistent } from './persistent-panel.ts'
import { initAppsPanel, refreshApps } from './apps-panel.ts'
import { initAppForm } from './app-form.ts'
import { initDetectedPanel, refreshDetected } from './detected-panel.ts'
import { initAccessLogPanel } from './access-log-panel.ts'
import { initYouPanel, renderYou, showTheme } from './you-panel.ts'
import { initDevicesPanel, refreshDevices } from './devices-panel.ts'
import { initWebhooksPanel, refreshWebhooks } from './webhooks-panel.ts'
import { loadPreferences } from './preferences.ts'

/** GET/PUT /api/preferences keep the theme and the apps list's choices per identity (issue 12). */
const PREFERENCES_API = true

function guarded(work: () => void | Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await work()
    } catch (err) {
      showError(messageOf(err))
    }
  }
}

/** Admin controls are removed, not just hidden, for everyone else (the server refuses them anyway). */
function applyRole(me: WhoAmI): void {
  document.body.dataset.role = me.role
  for (const node of $$('[data-admin]')) {
    if (me.role !== 'admin') node.remove()
    else if (!node.hasAttribute('data-starts-hidden')) node.hidden = false
  }
  const where = me.local ? 'This machine' : me.tailscale ? me.tailscale.loginName : 'Remote device'
  $('[data-whoami]').textContent = `${where} · ${me.role}`
}

/**
 * Where a visit lands: a phone or a viewer on Apps (what they came for); the local admin on
 * Connect until a device has signed in for the first time, on the overview after that.
 */
async function landingFor(me: WhoAmI): Promise<string> {
  if (me.role !== 'admin' || !me.local) return 'apps'
  const access = await api<Access>('/api/access')
  return access.deviceEverSignedIn ? 'remote' : 'connect'
}

async function boot(): Promise<void> {
  applyTheme(storedTheme())
  const me = await loadMe()
  applyRole(me)
  // Asked once, shared by the theme and the apps list.
  void loadPreferences(PREFERENCES_API)
  initYouPanel()
  void loadTheme(PREFERENCES_API).then(showTheme)
  initTunnelPanel()
  initAppsPanel()
  initReloadStatus()
  startLiveStatus()
  onShow('remote', guarded(renderMachine))
  onShow('apps', guarded(refreshApps))
  onShow('devices', guarded(renderYou))
  if (isAdmin()) {
    initConnectPanel()
    initReachPanel(guarded(renderConnect))
    initLoginLinksPanel()
    initPersistentPanel()
    initAppForm(refreshApps)
    initDetectedPanel(refreshApps)
    initAccessLogPanel()
    initDevicesPanel()
    initWebhooksPanel()
    onShow('connect', guarded(async () => void (await Promise.all([renderReach(), renderConnect(), renderPersistent()]))))
    onShow('apps', guarded(refreshDetected))
    onShow('devices', guarded(refreshDevices))
    onShow('devices', guarded(async () => void (await refreshWebhooks())))
    await initProviderForm()
  }
  setLanding(await landingFor(me))
  startRouter()
  document.body.dataset.ready = 'true'
}

document.addEventListener('DOMContentLoaded', () => {
  boot().catch((err) => showError(messageOf(err)))
})
