/**
 * The restart-intent markers of runbook §3.2 (`lifecycle.wasRunningOnShutdown`,
 * `lifecycle.lastRunningProvider`), written through the settings store only when they change.
 * They are set when a tunnel becomes running, so a crash of latchkey still counts as
 * "running at shutdown"; a manual stop, a failed or skipped restore clear them.
 */
import type { SettingsStore } from '../config/settings-store.ts'
import type { ProviderName } from '../config/settings-schema.ts'
import type { Logger } from '../log.ts'

export function setRunningMarker(settings: SettingsStore, provider: ProviderName, log: Logger): void {
  const lc = settings.get().remoteAccess.lifecycle
  if (lc.wasRunningOnShutdown && lc.lastRunningProvider === provider) return
  write(settings, log, true, provider)
}

export function clearRunningMarker(settings: SettingsStore, log: Logger): void {
  const lc = settings.get().remoteAccess.lifecycle
  if (!lc.wasRunningOnShutdown && lc.lastRunningProvider === null) return
  write(settings, log, false, null)
}

function write(settings: SettingsStore, log: Logger, running: boolean, provider: ProviderName | null): void {
  try {
    settings.update((d) => {
      d.remoteAccess.lifecycle.wasRunningOnShutdown = running
      d.remoteAccess.lifecycle.lastRunningProvider = provider
    })
  } catch (err) {
    log.warn('cannot save the tunnel restart marker', { error: String((err as Error)?.message ?? err) })
  }
}
