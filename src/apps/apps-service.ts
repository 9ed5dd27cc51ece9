/**
 * The apps feature as one service: the registry, the listeners of port-mode apps, health
 * checks, the access log and the proxy handler, plus the operations behind /api/apps.
 * Nothing here knows Elysia; src/api/apps.ts is a thin layer over it.
 */
import type { Services } from '../context.ts'
import type { Caller } from '../guard/identify.ts'
import { atLeast } from '../guard/roles.ts'
import { ApiError, BadRequestError, ConflictError } from '../errors.ts'
import type { AppHandler } from '../server/dispatch.ts'
import { AppConfigError, parseAppEntry, type AppSpec } from './app-config.ts'
import { AppRegistry, type AppEntry } from './registry.ts'
import { HealthMonitor } from './health.ts'
import { AccessLog, type AccessEntry } from './access-log.ts'
import { AppListeners, type OpenListener } from './app-listeners.ts'
import { createAppHandler } from './app-handler.ts'
import { CookieOwners } from './cookie-owners.ts'
import { detectLocalApps, type DetectedPort } from './detect.ts'

export interface AppsOptions {
  /** Opens a port-mode app's listener (src/server/listeners.ts `listen`). */
  open: OpenListener
  /** The global app timeout, read per request (a config reload may change it). */
  timeoutMs: () => number
  healthIntervalMs?: number
}

export class AppsService {
  readonly registry: AppRegistry
  readonly health: HealthMonitor
  readonly accessLog: AccessLog
  readonly cookies: CookieOwners
  readonly listeners: AppListeners
  readonly handler: AppHandler
  #unsubscribe: () => void

  constructor(private readonly services: Services, opts: AppsOptions) {
    this.registry = new AppRegistry(services.config.apps, services.settings, services.log)
    this.health = new HealthMonitor({ intervalMs: opts.healthIntervalMs ?? 10_000, timeoutMs: 3000 })
    this.accessLog = new AccessLog(services.config.dataDir)
    this.listeners = new AppListeners(opts.open, services.log)
    this.cookies = new CookieOwners(services.config.dataDir)
    this.handler = createAppHandler({ services, registry: this.registry, cookies: this.cookies, health: this.health, accessLog: this.accessLog, timeoutMs: opts.timeoutMs, pageStyle: services.pageStyle?.inline ?? null })
    this.#unsubscribe = this.registry.onChange((apps) => {
      this.health.sync(apps)
      void this.listeners.sync(apps)
    })
  }

  /** Open the listeners of port-mode apps and start health checks. */
  async start(): Promise<void> {
    const apps = this.registry.list()
    this.health.sync(apps)
    this.health.start()
    await this.listeners.sync(apps)
  }

  async stop(): Promise<void> {
    this.#unsubscribe()
    this.health.stop()
    this.registry.close()
    this.accessLog.flush()
    await this.listeners.stop()
  }

  /**
   * Take on a reloaded latchkey.yaml app list: added apps open their listeners, removed apps
   * close theirs, changed apps are served as they now are (a listener moves only when its port
   * changed, so open connections of other apps are never touched). Resolves once listeners follow.
   */
  async reconfigure(configApps: readonly AppSpec[]): Promise<void> {
    this.registry.setConfigApps(configApps)
    await this.listeners.sync(this.registry.list())
  }

  /** What GET /api/apps shows: the apps this caller may open, with health. */
  list(caller: Caller) {
    return this.registry.list().filter((a) => atLeast(caller.role === 'none' ? 'viewer' : caller.role, a.spec.role)).map((a) => this.describe(a))
  }

  describe(app: AppEntry) {
    const listener = this.listeners.state(app.spec.name)
    return {
      name: app.spec.name,
      target: app.spec.target,
      mode: app.spec.port !== undefined ? 'port' : 'path',
      port: app.spec.port !== undefined ? (listener?.port ?? app.spec.port) : null,
      path: app.spec.path ?? null,
      role: app.spec.role,
      identityHeaders: app.spec.identityHeaders,
      timeout: app.spec.timeout ?? null,
      source: app.source,
      editable: app.source === 'dashboard',
      paused: app.paused,
      health: this.health.get(app.spec.name),
      listener,
    }
  }

  /** POST /api/apps: add a dashboard app (saved to settings.json, live at once). */
  async add(body: unknown) {
    const spec = this.#validate(body, null)
    this.services.settings.update((draft) => {
      draft.apps.push({ ...stored(spec), paused: false })
    })
    return this.#settled(spec.name)
  }

  /** PUT /api/apps/:name: replace a dashboard app (it may be renamed). */
  async update(name: string, body: unknown) {
    const current = this.#editable(name)
    const merged = typeof body === 'object' && body !== null && !Array.isArray(body) ? { name, ...(body as object) } : body
    const spec = this.#validate(merged, name)
    this.services.settings.update((draft) => {
      const i = draft.apps.findIndex((a) => a.name === name)
      draft.apps[i] = { ...stored(spec), paused: current.paused }
    })
    return this.#settled(spec.name)
  }

  /** DELETE /api/apps/:name */
  async remove(name: string) {
    this.#editable(name)
    this.services.settings.update((draft) => {
      draft.apps = draft.apps.filter((a) => a.name !== name)
    })
    await this.listeners.sync(this.registry.list())
    return { removed: name }
  }

  async setPaused(name: string, paused: boolean) {
    this.#find(name)
    this.registry.setPaused(name, paused)
    this.services.log.info(paused ? 'app paused' : 'app resumed', { app: name })
    return this.describe(this.#find(name))
  }

  /** Close and reopen a port-mode app's listener; re-check its health either way. */
  async restart(name: string) {
    const app = this.#find(name)
    await this.listeners.restart(name)
    await this.health.check(name)
    this.services.log.info('app restarted', { app: name })
    return this.describe(app)
  }

  readAccessLog(name: string, limit: number): { app: string; entries: AccessEntry[] } {
    this.#find(name)
    return { app: name, entries: this.accessLog.read(name, limit) }
  }

  /** Loopback listeners on this machine, minus latchkey's own ports, marking the ones already exposed. */
  async detected(): Promise<{ ports: (DetectedPort & { app: string | null })[] }> {
    const own = new Set<number>(Object.values(this.services.ports).filter((p) => p > 0))
    for (const app of this.registry.list()) {
      const state = this.listeners.state(app.spec.name)
      if (state?.listening) own.add(state.port)
    }
    const byTarget = new Map<number, string>()
    for (const app of this.registry.list()) {
      const t = new URL(app.spec.target)
      if (/^(127\.|localhost$|\[::1\]$)/.test(t.hostname)) byTarget.set(Number(t.port || (t.protocol === 'https:' ? 443 : 80)), app.spec.name)
    }
    const ports = await detectLocalApps(own)
    return { ports: ports.map((p) => ({ ...p, app: byTarget.get(p.port) ?? null })) }
  }

  #find(name: string): AppEntry {
    const app = this.registry.get(name)
    if (!app) throw new ApiError(404, 'app_not_found', `No app named "${name.slice(0, 63).replace(/[^a-z0-9-]/g, '')}"`)
    return app
  }

  #editable(name: string): AppEntry {
    const app = this.#find(name)
    if (app.source !== 'dashboard') throw new ConflictError('app_read_only', `App "${name}" is defined in latchkey.yaml or by --app: change it there`)
    return app
  }

  /** Field-level validation plus the clashes only the whole list can see. */
  #validate(body: unknown, replacing: string | null): AppSpec {
    let spec: AppSpec
    try {
      spec = parseAppEntry(body, '')
    } catch (err) {
      if (err instanceof AppConfigError) throw new BadRequestError(err.field, err.message)
      throw err
    }
    const others = this.registry.list().filter((a) => a.spec.name !== replacing)
    if (others.some((a) => a.spec.name === spec.name)) throw new ConflictError('app_exists', `An app named "${spec.name}" already exists`)
    if (spec.port === 0) throw new BadRequestError('port', '"port" must be 1-65535')
    if (spec.port !== undefined) {
      const p = this.services.ports
      if ([p.dashboard, p.api, p.tailscaleIngress, p.cloudflareIngress, this.services.config.port, this.services.config.apiPort].includes(spec.port)) {
        throw new ConflictError('port_in_use', `"port" ${spec.port} is one of latchkey's own ports`)
      }
      if (others.some((a) => a.spec.port === spec.port)) throw new ConflictError('port_in_use', `"port" ${spec.port} is already used by another app`)
    }
    if (spec.path !== undefined && others.some((a) => a.spec.path === spec.path)) throw new ConflictError('path_in_use', `"path" ${spec.path} is already used by another app`)
    return spec
  }

  /** After a settings change, wait for the listener and report the app as it now is. */
  async #settled(name: string) {
    await this.listeners.sync(this.registry.list())
    return this.describe(this.#find(name))
  }
}

function stored(spec: AppSpec) {
  const out: { name: string; target: string; role: 'viewer' | 'admin'; identityHeaders: boolean; port?: number; path?: string; timeout?: number } = {
    name: spec.name,
    target: spec.target,
    role: spec.role,
    identityHeaders: spec.identityHeaders,
  }
  if (spec.port !== undefined) out.port = spec.port
  if (spec.path !== undefined) out.path = spec.path
  if (spec.timeout !== undefined) out.timeout = spec.timeout
  return out
}
