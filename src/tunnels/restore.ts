/**
 * Restore on restart (runbook §3): at startup, a tunnel that was running when latchkey last
 * stopped (cleanly or not) is started again when every gate passes; otherwise the reason code
 * says why. Failure never stops latchkey, and stale markers are cleared so it does not retry
 * in a loop (§3.2).
 */
import type { SettingsStore } from '../config/settings-store.ts'
import type { Logger } from '../log.ts'
import { ConflictError } from '../errors.ts'
import { checkStart } from './prerequisites.ts'
import { clearRunningMarker } from './markers.ts'
import type { TunnelManager } from './tunnel-manager.ts'

/** Evaluate the gates in the runbook's order and start, skip or fail; never throws. */
export async function restoreOnStart(tunnels: TunnelManager, settings: SettingsStore, log: Logger, extraDirs: string[]): Promise<void> {
  const remote = settings.get().remoteAccess
  const lc = remote.lifecycle
  const provider = lc.lastRunningProvider ?? remote.activeProvider
  const at = () => new Date().toISOString()
  const skip = (reason: string, message?: string) => {
    tunnels.restore = { outcome: 'skipped', reason, at: at(), provider, ...(message ? { message } : {}) }
    clearRunningMarker(settings, log)
    log.info('tunnel restore skipped', { reason })
  }
  if (!remote.enabled) return skip('remote_access_disabled')
  if (!lc.rememberLastRunning) return skip('remember_last_running_disabled')
  if (!lc.wasRunningOnShutdown) return skip('no_prior_running_marker')
  const gate = checkStart(remote, provider, { requireEnabled: false, extraDirs })
  if ('problem' in gate) return skip(gate.problem.code, gate.problem.message)

  const fail = (message: string) => {
    tunnels.restore = { outcome: 'failed', reason: 'restore_start_failed', at: at(), provider, message }
    clearRunningMarker(settings, log)
    log.warn('tunnel restore failed', { error: message })
  }
  try {
    await tunnels.start({ provider })
  } catch (err) {
    return fail(err instanceof ConflictError ? err.message : `Cannot start the tunnel: ${String((err as Error)?.message ?? err)}`)
  }
  tunnels.restore = { outcome: 'applied', reason: 'restore_started', at: at(), provider }
  log.info('tunnel restore started', { provider })
  // The start may still fail before the tunnel is ready: report it as a failed restore.
  const off = tunnels.onTransition((e) => {
    if (e.to === 'running' || e.to === 'stopping') off()
    else if (e.to === 'failed') {
      off()
      fail(tunnels.snapshot().lastError ?? 'The restored tunnel failed before it was ready')
    }
  })
}
