/**
 * The apps latchkey fronts: the operator's (latchkey.yaml and `--app`, read-only) merged
 * with the ones an admin added from the dashboard (settings.json), rebuilt whenever
 * settings.json changes or latchkey.yaml is reloaded, so edits apply without a restart.
 */
import type { SettingsStore } from '../config/settings-store.ts'
import type { Logger } from '../log.ts'
import type { AppSpec } from './app-config.ts'

export interface AppEntry {
  spec: AppSpec
  /** `config`: latchkey.yaml or --app (not editable from the dashboard); `dashboard`: settings.json. */
  source: 'config' | 'dashboard'
  paused: boolean
}

type ChangeListener = (apps: readonly AppEntry[]) => void

export class AppRegistry {
  #config: readonly AppSpec[]
  readonly #settings: SettingsStore
  readonly #log: Logger
  #apps = new Map<string, AppEntry>()
  /** Path-mode apps, longest prefix first. */
  #byPath: AppEntry[] = []
  #listeners = new Set<ChangeListener>()
  #unsubscribe: () => void

  constructor(configApps: readonly AppSpec[], settings: SettingsStore, log: Logger) {
    this.#config = configApps
    this.#settings = settings
    this.#log = log
    this.#rebuild()
    this.#unsubscribe = settings.subscribe((next, prev) => {
      if (JSON.stringify(next.apps) !== JSON.stringify(prev.apps) || next.pausedApps !== prev.pausedApps) this.#rebuild()
    })
  }

  list(): AppEntry[] {
    return [...this.#apps.values()]
  }

  get(name: string): AppEntry | undefined {
    return this.#apps.get(name)
  }

  /** The path-mode app whose prefix `path` is under (the prefix itself included). */
  matchPath(path: string): AppEntry | undefined {
    for (const app of this.#byPath) {
      const prefix = app.spec.path!
      if (path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47)) return app
    }
    return undefined
  }

  /**
   * Replace the operator's apps (a latchkey.yaml reload). Dashboard apps stay as they are;
   * the merge follows the same rules as at start, and every change listener is told.
   */
  setConfigApps(apps: readonly AppSpec[]): void {
    this.#config = apps
    this.#rebuild()
  }

  /**
   * Pause or resume, remembered in settings.json across restarts: in the app's own entry for
   * dashboard apps, in `pausedApps` for apps from latchkey.yaml (which latchkey never writes).
   */
  setPaused(name: string, paused: boolean): void {
    const app = this.#apps.get(name)
    if (!app) return
    if (app.source === 'config') {
      this.#settings.update((draft) => {
        draft.pausedApps = draft.pausedApps.filter((n) => n !== name)
        if (paused) draft.pausedApps.push(name)
      })
    } else {
      this.#settings.update((draft) => {
        const stored = draft.apps.find((a) => a.name === name)
        if (stored) stored.paused = paused
      })
    }
  }

  /** Be told after every change (the listener set and health checks follow it). */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  close(): void {
    this.#unsubscribe()
    this.#listeners.clear()
  }

  #rebuild(): void {
    const next = new Map<string, AppEntry>()
    const ports = new Set<number>()
    const paths = new Set<string>()
    const add = (spec: AppSpec, source: AppEntry['source'], paused: boolean) => {
      // Note: the API refuses clashes; these catch a hand-edited settings.json.
      const clash = next.has(spec.name) ? `name "${spec.name}"` : spec.port !== undefined && spec.port !== 0 && ports.has(spec.port) ? `port ${spec.port}` : spec.path !== undefined && paths.has(spec.path) ? `path "${spec.path}"` : null
      if (clash) {
        this.#log.warn('app skipped', { app: spec.name, source, reason: `${clash} is already used by another app` })
        return
      }
      next.set(spec.name, { spec, source, paused })
      if (spec.port !== undefined) ports.add(spec.port)
      if (spec.path !== undefined) paths.add(spec.path)
    }
    const pausedApps = this.#settings.get().pausedApps
    for (const spec of this.#config) add(spec, 'config', pausedApps.includes(spec.name))
    for (const stored of this.#settings.get().apps) {
      const { paused, ...rest } = stored
      const spec: AppSpec = { ...rest, target: rest.target.replace(/\/+$/, '') }
      if (spec.port === undefined && spec.path === undefined) spec.path = `/apps/${spec.name}`
      add(spec, 'dashboard', paused)
    }
    this.#apps = next
    this.#byPath = [...next.values()].filter((a) => a.spec.path !== undefined).sort((a, b) => b.spec.path!.length - a.spec.path!.length)
    const apps = this.list()
    for (const l of this.#listeners) l(apps)
  }
}
