/**
 * The `tunnels` service of Services: the lifecycle manager plus status (with external-tunnel
 * detection), kill-external, boot (reap leftovers, then restore) and the cloudflared installer.
 * Route handlers call these; nothing here knows about Elysia.
 */
import type { ProviderName } from '../config/settings-schema.ts'
import { ConflictError } from '../errors.ts'
import { TunnelManager } from './tunnel-manager.ts'
import type { TunnelDeps } from './deps.ts'
import { restoreOnStart } from './restore.ts'
import { detectExternalTunnel, killExternalTunnels, type ExternalTunnel } from './external-tunnel.ts'
import { detectCloudflared, installCloudflared, installDir } from './cloudflared-install.ts'
import { childEnv } from './run-command.ts'

/** External detection runs the tailscale CLI: at most once per this many ms. */
const EXTERNAL_CACHE_MS = 3000

export interface TunnelServiceOptions extends Omit<TunnelDeps, 'extraDirs'> {
  cloudflaredManifest?: string
}

/** One scan for tunnels latchkey did not start; `settled` once it answered. */
interface ExternalScan {
  at: number
  value: Promise<ExternalTunnel | null>
  settled?: { found: ExternalTunnel | null }
}

export class TunnelService {
  readonly manager: TunnelManager
  #external: ExternalScan | null = null
  #booted: Promise<void> = Promise.resolve()
  #changeListeners = new Set<() => void>()

  constructor(private readonly opts: TunnelServiceOptions) {
    this.manager = new TunnelManager({ ...opts, extraDirs: [installDir(opts.dataDir)] })
  }

  /**
   * Be told whenever GET /api/remote/status may have changed: a state transition, a change to
   * remoteAccess in settings.json, external tunnels turned off, restore done. For
   * GET /api/remote/events. Returns an unsubscribe function.
   */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener)
    const offTransition = this.manager.onTransition(() => listener())
    const offSettings = this.opts.settings.subscribe((next, prev) => {
      if (JSON.stringify(next.remoteAccess) !== JSON.stringify(prev.remoteAccess)) listener()
    })
    return () => {
      this.#changeListeners.delete(listener)
      offTransition()
      offSettings()
    }
  }

  #changed(): void {
    for (const l of this.#changeListeners) l()
  }

  get #externalOpts() {
    return { extraDirs: [installDir(this.opts.dataDir)], env: childEnv({}, this.opts.env), socket: this.opts.tailscaleSocket }
  }

  /** GET /api/remote/status (runbook §2.3). externalTunnel only while ours is not up. */
  async status() {
    return this.statusNow()
  }

  /**
   * The same status, as a value when nothing has to be waited for (the polled route's
   * common case): the external-tunnel scan is cached, and only a fresh scan is a promise.
   */
  statusNow() {
    const s = this.manager.snapshot()
    const withExternal = (externalTunnel: ExternalTunnel | null) => ({ ...s, externalTunnel, restore: this.manager.restore })
    if (s.state !== 'stopped' && s.state !== 'failed') return withExternal(null)
    if (!this.#external || Date.now() - this.#external.at > EXTERNAL_CACHE_MS) {
      const entry: ExternalScan = { at: Date.now(), value: detectExternalTunnel(this.#externalOpts).catch(() => null) }
      entry.value.then((found) => (entry.settled = { found }))
      this.#external = entry
    }
    const scan = this.#external
    return scan.settled ? withExternal(scan.settled.found) : scan.value.then(withExternal)
  }

  async start(): Promise<void> {
    await this.#booted
    await this.manager.start()
  }

  stop(): Promise<void> {
    return this.manager.stop({ clearMarkers: true })
  }

  /** POST /api/remote/tunnel/kill-external: only while latchkey's own tunnel is not up. */
  async killExternal(): Promise<{ killed: string[] }> {
    const state = this.manager.state
    if (state !== 'stopped' && state !== 'failed') {
      throw new ConflictError('tunnel_running', `Cannot turn off external tunnels while latchkey's own tunnel is ${state}: stop it first`)
    }
    const killed = await killExternalTunnels(this.#externalOpts)
    this.#external = null
    this.opts.log.info('external tunnels turned off', { count: killed.length })
    this.#changed()
    return { killed }
  }

  /** POST /api/remote/provider/activate: selects only, never starts (runbook §2.2). */
  activate(provider: ProviderName): void {
    this.opts.settings.update((d) => {
      d.remoteAccess.activeProvider = provider
    })
  }

  detectCloudflared() {
    return detectCloudflared({ dataDir: this.opts.dataDir, manifestPath: this.opts.cloudflaredManifest, env: this.opts.env })
  }

  installCloudflared() {
    return installCloudflared({ dataDir: this.opts.dataDir, manifestPath: this.opts.cloudflaredManifest })
  }

  /** At startup, after the listeners are up: stop leftovers of an earlier run, then restore. */
  boot(): Promise<void> {
    this.#booted = (async () => {
      try {
        const reaped = await this.manager.pids.reap(this.opts.graceMs())
        if (reaped.length) this.opts.log.warn('stopped tunnel processes left by an earlier latchkey', { pids: reaped.join(',') })
      } catch (err) {
        this.opts.log.warn('cannot reap earlier tunnel processes', { error: String(err) })
      }
      await restoreOnStart(this.manager, this.opts.settings, this.opts.log, [installDir(this.opts.dataDir)])
      this.#changed()
    })()
    return this.#booted
  }

  /** latchkey is exiting. */
  async shutdown(): Promise<void> {
    await this.#booted.catch(() => {})
    await this.manager.shutdown()
  }
}
