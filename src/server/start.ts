/**
 * Builds the services of one latchkey and starts it: data dir, lock, settings, sessions,
 * guard, API, dashboard, listeners, banner, config reloads on SIGHUP and file changes, and a
 * clean shutdown on SIGINT/SIGTERM.
 */
import type { ParsedArgs } from '../cli.ts'
import { resolveConfig, type Config } from '../config/resolve.ts'
import { ensureDataDir } from '../config/data-dir.ts'
import { acquireInstanceLock } from '../config/instance-lock.ts'
import { SettingsStore } from '../config/settings-store.ts'
import { SessionStore } from '../tokens/sessions.ts'
import { AccessToken } from '../tokens/access-token.ts'
import { LoginTokens } from '../tokens/login-tokens.ts'
import { ShareStore } from '../tokens/shares.ts'
import { GuessLimiter } from '../guard/guess-limiter.ts'
import { OriginPolicy } from '../guard/origins.ts'
import { createLogger } from '../log.ts'
import type { Api } from '../app.ts'
import { loadDashboard } from '../dashboard/assets.ts'
import { createDispatcher } from './dispatch.ts'
import { appListenerOpener, listen, startListeners, type Listeners } from './listeners.ts'
import { TunnelService } from '../tunnels/tunnel-service.ts'
import { removeRuntimeFile, writeRuntimeFile } from './runtime-file.ts'
import { AppsService } from '../apps/apps-service.ts'
import { banner } from '../banner.ts'
import { COMMIT, VERSION } from '../version.ts'
import { LatchkeyMetrics } from '../metrics/latchkey-metrics.ts'
import { runtime } from '../runtime/index.ts'
import { logIdentitySetup, tailscaleWhois } from '../guard/identity-setup.ts'
import type { Services } from '../context.ts'
import { applyContainerMode, logContainerMode } from '../container/container-mode.ts'
import { WebhookService } from '../webhooks/webhook-service.ts'
import { NetworkAccess } from './network-access.ts'
import { machineAddresses } from '../connect/machine-addresses.ts'
import { attachEventSources, emitDenied } from '../webhooks/event-sources.ts'
import { liveGuardOptions } from '../guard/guard.ts'
import { Reloader } from './reload.ts'
import { terminalHungUp } from './hangup.ts'

export interface Running {
  services: Services
  listeners: Listeners
  stop(): Promise<void>
}

/** Start latchkey with already-parsed arguments. Resolves once every listener is up. */
export async function start(args: ParsedArgs, env: Record<string, string | undefined>, opts: { print?: (text: string) => void; handleSignals?: boolean; logWrite?: (line: string) => void } = {}): Promise<Running> {
  const config: Config = resolveConfig(args, env)
  // In a container: bind all interfaces unless a host is given, and never start open.
  applyContainerMode(config, env)
  const print = opts.print ?? ((text: string) => console.log(text))
  const log = createLogger({ level: config.logLevel, write: opts.logWrite })
  const dataDir = ensureDataDir(config.dataDir)
  const releaseLock = acquireInstanceLock(dataDir)
  // Signal handlers go in before any listener opens: Bun installs them asynchronously, and a
  // signal that arrives first would kill the process without cleanup.
  let stopNow: (() => Promise<void>) | null = null
  let reloadNow: (() => void) | null = null
  let reloadAsked = false
  if (opts.handleSignals !== false) {
    // A write past the file-size limit (`ulimit -f`) must fail with EFBIG, not kill latchkey
    // (SIGXFSZ's default action): settings-store.ts then answers an error and keeps the old
    // file. Bun ignores SIGXFSZ already; Deno does not.
    process.on('SIGXFSZ', () => {})
    const stopAndExit = () => {
      if (!stopNow) {
        releaseLock()
        process.exit(0)
      }
      void stopNow().then(() => process.exit(0))
    }
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, stopAndExit)
    // SIGHUP reloads the config (src/server/reload.ts), once start-up is done if it comes
    // sooner; from a terminal that closed, it is a hang-up and stops latchkey as before.
    process.on('SIGHUP', () => {
      if (terminalHungUp()) return stopAndExit()
      if (reloadNow) reloadNow()
      else reloadAsked = true
    })
    // A crash is a runtime failure: stop the tunnel children, then exit 1 (0 is a clean stop, 2 a config error).
    for (const ev of ['uncaughtException', 'unhandledRejection'] as const) {
      process.on(ev, (err: unknown) => {
        log.error('fatal error, stopping', { error: String((err as Error)?.message ?? err) })
        if (!stopNow) {
          releaseLock()
          process.exit(1)
        }
        void stopNow().finally(() => process.exit(1))
      })
    }
  }
  try {
    const settings = SettingsStore.open(dataDir)
    const accessToken = new AccessToken(config.authToken)
    log.addSecret(accessToken.value)
    log.addSecret(config.apiKey)
    const webhooks = WebhookService.fromConfig(config.webhooks, { log, version: VERSION, retryBaseMs: config.webhookRetryMs })
    const sessions = new SessionStore({ dataDir })
    const loginTokens = new LoginTokens({ settings, revokeIssuer: (issuer) => sessions.revokeIssuer(issuer), addSecret: (s) => log.addSecret(s) })
    const shares = new ShareStore({ dataDir })
    // Sessions of a fixed access token, of the persistent login token or of a live share link survive a restart.
    sessions.retainIssuers((issuer) => issuer === accessToken.issuer || issuer === loginTokens.persistentIssuer() || shares.liveIssuer(issuer))
    const mode = args.command === 'serve' ? 'headless' : 'dashboard'
    const metrics = new LatchkeyMetrics({ version: VERSION, commit: COMMIT, runtime: runtime.name })
    const tunnels = new TunnelService({
      dataDir,
      settings,
      log,
      ports: () => services.ports,
      // The Tailscale ingress on targetPort while a Tailscale tunnel runs (src/tunnels/tailscale-tunnel.ts).
      listenTailscaleIngress: (port) => listen('tailscale-ingress', '127.0.0.1', port, handlerFor),
      graceMs: () => config.tunnelGraceMs,
      startTimeoutMs: () => config.tunnelStartTimeoutMs,
      tailscaleSocket: config.sources.tailscaleSocket === 'default' ? undefined : config.tailscaleSocket,
      extraSecrets: () => [accessToken.value, config.apiKey ?? ''],
      cloudflaredManifest: (config as { cloudflaredManifest?: string }).cloudflaredManifest || undefined,
    })
    // A running tunnel's public origin is allowed while it runs, and only then.
    const tunnelOrigins = () => {
      const s = tunnels.manager.snapshot()
      return s.state === 'running' && s.url ? [new URL(s.url).origin] : []
    }
    // Bare hosts are allowed on latchkey's own dashboard and API ports, read once bound.
    const ownPorts = () => [services.ports.dashboard, services.ports.api].filter((p) => p > 0)
    const services: Services = {
      config,
      mode,
      version: VERSION,
      settings,
      sessions,
      accessToken,
      loginTokens,
      shares,
      log,
      guard: {
        // Views of `config`, which a reload updates in place.
        options: liveGuardOptions(config, { accessToken: () => accessToken.value, sessions, whois: tailscaleWhois(config, log) }),
        limiter: new GuessLimiter(),
        origins: new OriginPolicy(config.allowedOrigins, { host: config.host, ports: ownPorts, live: tunnelOrigins }),
        log,
        onDenied: (request, caller, message) => emitDenied(webhooks, request, caller, message),
        decided: metrics.guardDecision,
      },
      tunnels,
      webhooks,
      remoteStatus: () => tunnels.status(),
      ports: { dashboard: 0, api: 0, tailscaleIngress: 0, cloudflareIngress: 0 },
      network: new NetworkAccess({
        host: config.host,
        port: () => services.ports.dashboard,
        addresses: () => machineAddresses(),
        listen: (address, port) => listen('dashboard', address, port, handlerFor),
        log,
      }),
      metrics,
    }
    logIdentitySetup(config, log)
    logContainerMode(config, log)
    attachEventSources(webhooks, { sessions, tunnel: tunnels.manager, shares })
    // Remembered once, so the dashboard stops leading the local admin to Connect.
    sessions.on((what) => {
      if (what === 'created' && settings.get().firstSignInAt === null) settings.update((draft) => void (draft.firstSignInAt = new Date().toISOString()))
    })
    const dashboard = mode === 'dashboard' ? await loadDashboard() : null
    if (dashboard) services.pageStyle = { linked: dashboard.cssHref ? { href: dashboard.cssHref } : null, inline: dashboard.inlineStyle }
    // The API (Elysia and every route group) is built once listening, by the first request
    // that is not a health check: a latchkey nobody has used yet holds less, and starts sooner.
    let api: Api | null = null
    let building: Promise<Api> | null = null
    const buildApi = () => (building ??= import('../app.ts').then(({ createApi }) => (api = createApi(services))))
    const apps = new AppsService(services, {
      open: appListenerOpener(config.host, () => handlerFor),
      timeoutMs: () => config.appTimeoutMs || 300_000,
    })
    services.apps = apps
    const handlerFor = createDispatcher({ services, api: () => api, buildApi, dashboard, apps: apps.handler })
    const listeners = await startListeners({ host: config.host, port: config.port, apiPort: config.apiPort, cloudflareIngressPort: config.cloudflareIngressPort, headless: mode === 'headless', handlerFor })
    services.ports = {
      dashboard: listeners.dashboard?.port ?? 0,
      api: listeners.api.port,
      tailscaleIngress: listeners.tailscaleIngress.port,
      cloudflareIngress: listeners.cloudflareIngress.port,
    }
    await apps.start()
    // Watching begins before `ready`: an edit made once latchkey says it is up is never missed.
    const reloader = new Reloader({ services, args, env, dataDir })
    services.reload = reloader
    reloader.watch()
    writeRuntimeFile(dataDir, { pid: process.pid, apiPort: services.ports.api, dashboardPort: services.ports.dashboard, host: config.host })
    print(await banner(services))
    log.info('ready', { dashboard: services.ports.dashboard || undefined, api: services.ports.api, tsi: services.ports.tailscaleIngress, cfi: services.ports.cloudflareIngress, host: config.host })
    let stopping: Promise<void> | null = null
    const stop = () =>
      (stopping ??= (async () => {
        log.info('shutting down')
        reloader.close()
        removeRuntimeFile(dataDir)
        await Promise.race([tunnels.shutdown(), new Promise((r) => setTimeout(r, config.tunnelGraceMs + 2000))])
        await Promise.race([Promise.all([apps.stop(), listeners.stop(), services.network.closeAll()]), new Promise((r) => setTimeout(r, 1500))])
        sessions.flush()
        webhooks.stop()
        releaseLock()
      })())
    stopNow = stop
    reloadNow = () => void reloader.reload('signal')
    if (reloadAsked) reloadNow()
    // Reap tunnels an earlier latchkey left behind, then restore (never blocks startup).
    void tunnels.boot()
    return { services, listeners, stop }
  } catch (err) {
    releaseLock()
    throw err
  }
}
