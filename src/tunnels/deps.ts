/** What the tunnel manager needs from the rest of latchkey (built in server/start.ts). */
import type { SettingsStore } from '../config/settings-store.ts'
import type { ProviderName } from '../config/settings-schema.ts'
import type { Logger } from '../log.ts'

/** A listener the manager opened and must close. */
export interface IngressHandle {
  port: number
  stop(): Promise<void>
}

export interface TunnelDeps {
  dataDir: string
  settings: SettingsStore
  log: Logger
  ports(): { dashboard: number; api: number; tailscaleIngress: number; cloudflareIngress: number }
  /** Open a tailscale-ingress listener on 127.0.0.1:<port> (tailscale-tunnel.ts explains why). */
  listenTailscaleIngress(port: number): Promise<IngressHandle>
  graceMs(): number
  startTimeoutMs(): number
  /** `--socket` for the tailscale CLI, only when the operator configured one. */
  tailscaleSocket?: string
  /** Folders searched before PATH (where the cloudflared installer puts its download). */
  extraDirs: string[]
  /** Other secrets that must never appear in lastError (the access token, the API key). */
  extraSecrets(): string[]
  /** The environment children inherit (default: process.env). */
  env?: NodeJS.ProcessEnv
}

/** Restore diagnostics (runbook §3.1). */
export interface RestoreInfo {
  outcome: 'applied' | 'skipped' | 'failed'
  reason: string
  at: string | null
  provider: ProviderName | null
  message?: string
}
