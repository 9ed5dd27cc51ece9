/**
 * The services one running latchkey is made of, built once in main.ts and handed to the
 * route groups and listeners. Route handlers reach logic through these, never globals.
 */
import type { Config } from './config/resolve.ts'
import type { SettingsStore } from './config/settings-store.ts'
import type { SessionStore } from './tokens/sessions.ts'
import type { Guard } from './guard/guard.ts'
import type { Logger } from './log.ts'
import type { AccessToken } from './tokens/access-token.ts'
import type { TunnelService } from './tunnels/tunnel-service.ts'
import type { AppsService } from './apps/apps-service.ts'
import type { LoginTokens } from './tokens/login-tokens.ts'
import type { ShareStore } from './tokens/shares.ts'
import type { WebhookService } from './webhooks/webhook-service.ts'
import type { NetworkAccess } from './server/network-access.ts'
import type { Reloader } from './server/reload.ts'
import type { PageStyle } from './dashboard/pages.ts'
import type { LatchkeyMetrics } from './metrics/latchkey-metrics.ts'

export interface Services {
  config: Config
  /** `dashboard` (the full product) or `headless` (`latchkey serve`: API only). */
  mode: 'dashboard' | 'headless'
  version: string
  settings: SettingsStore
  sessions: SessionStore
  accessToken: AccessToken
  /** Persistent and short-lived login tokens for /remote-login?rt= (runbook §6.1). */
  loginTokens: LoginTokens
  /** Share links: one app, for a while (src/tokens/shares.ts, src/shares/). */
  shares: ShareStore
  /** Who may do what: identity options, guess limits, the origin policy (src/guard/). */
  guard: Guard
  log: Logger
  /** Tunnels: lifecycle, status, restore, external tunnels, cloudflared install (src/tunnels/). */
  tunnels: TunnelService
  /** GET /api/remote/status (runbook §2.3), from the tunnel service. */
  remoteStatus(): Promise<unknown>
  /** Bound ports, filled in once listeners are up. */
  ports: { dashboard: number; api: number; tailscaleIngress: number; cloudflareIngress: number }
  /** The operator's apps behind latchkey (src/apps/); absent until start() builds it. */
  apps?: AppsService
  /**
   * The dashboard's look for latchkey's own pages: `linked` where the dashboard's files are
   * served, `inline` on the API port and app ports (whose every path is the app's); absent in
   * headless mode.
   */
  pageStyle?: { linked: PageStyle; inline: PageStyle }
  /** Webhook notifications (src/webhooks/); absent until start() builds it. */
  webhooks?: WebhookService
  /** Addresses the admin opened from the dashboard while latchkey runs (server/network-access.ts). */
  network: NetworkAccess
  /** Counters and scrape-time readings for GET /metrics (src/metrics/). */
  metrics: LatchkeyMetrics
  /** Config reloads (SIGHUP, `latchkey reload`, latchkey.yaml edits) and the last outcome; absent until start() is done. */
  reload?: Reloader
}
