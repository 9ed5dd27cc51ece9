/**
 * Reloads the operator configuration of a running latchkey, on SIGHUP (`latchkey reload`
 * sends it) or when latchkey.yaml changes. The file is resolved exactly as at start (flags and
 * environment keep their precedence), checked in full (YAML, values, the API key and webhook
 * secret files), and only then applied: admins, API key, allowed origins, trusted proxies,
 * apps, webhooks and the timeouts change in place, with no listener, connection or session
 * of anything else touched. A change to what is built once at start (host, ports, the data
 * dir…) is reported as needing a restart while the rest applies; a broken file is refused with
 * its line and column, and the running configuration stays as it was.
 */
import type { ParsedArgs } from '../cli.ts'
import type { Services } from '../context.ts'
import { resolveConfig } from '../config/resolve.ts'
import { planReload } from '../config/reload-plan.ts'
import { applyContainerMode } from '../container/container-mode.ts'
import { ConfigError } from '../errors.ts'
import { readWebhookSecrets } from '../webhooks/webhook-service.ts'
import { watchConfigFile, type ConfigWatch } from './config-watch.ts'
import { writeReloadRecord, type ReloadStatus, type ReloadTrigger } from './reload-status.ts'

export interface ReloaderOptions {
  services: Services
  /** The arguments and environment latchkey started with: a reload resolves them again. */
  args: ParsedArgs
  env: Record<string, string | undefined>
  dataDir: string
}

export class Reloader {
  #last: ReloadStatus | null = null
  #tail: Promise<unknown> = Promise.resolve()
  #queued: Promise<ReloadStatus> | null = null
  #listeners = new Set<() => void>()
  #watch: ConfigWatch | null = null

  constructor(private readonly o: ReloaderOptions) {}

  /** The last reload's outcome (null until the first). */
  get last(): ReloadStatus | null {
    return this.#last
  }

  /** Be told after each reload (GET /api/remote/events). Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Reload now, or right after the reload under way. Requests made before a queued reload
   * begins share it, so a burst of signals reads the file once more, not once each.
   */
  reload(trigger: ReloadTrigger): Promise<ReloadStatus> {
    if (this.#queued) return this.#queued
    const run = this.#tail.then(() => {
      this.#queued = null
      return this.#run(trigger)
    })
    this.#queued = run
    this.#tail = run.catch(() => {})
    return run
  }

  /** Reload whenever the config file settles on new text. */
  watch(): void {
    const { config, log } = this.o.services
    this.#watch = watchConfigFile({
      path: config.configPath,
      onChange: () => void this.reload('file'),
      onMissing: () => log.info('config file removed: the running configuration stays (restore it, or run "latchkey reload" to apply the defaults)', { path: config.configPath }),
      onError: (err) => log.warn('cannot watch the config file: apply changes with "latchkey reload" or SIGHUP', { path: config.configPath, error: err.message }),
    })
  }

  close(): void {
    this.#watch?.close()
    this.#listeners.clear()
  }

  async #run(trigger: ReloadTrigger): Promise<ReloadStatus> {
    const startedAt = Date.now()
    const { services } = this.o
    const { log } = services
    let status: ReloadStatus
    try {
      status = { ...(await this.#apply()), at: '', trigger, error: null, position: null, ok: true }
    } catch (err) {
      const e = err as Error & { exitCode?: number; where?: ConfigError['where'] }
      // Configuration errors (exit code 2) name what is wrong; anything else is latchkey's own failure.
      const error = e?.exitCode === 2 ? e.message : `Cannot reload the configuration: ${e?.message ?? String(err)}`
      status = { at: '', ok: false, trigger, applied: [], needsRestart: [], error, position: err instanceof ConfigError && err.where ? { ...err.where } : null }
    }
    status.at = new Date().toISOString()
    this.#last = status
    // One line per reload.
    if (!status.ok) log.warn('config reload refused: nothing changed', { trigger, error: status.error })
    else {
      const fields = { trigger, applied: status.applied.join(',') || 'nothing', needsRestart: status.needsRestart.join(',') || undefined }
      if (status.needsRestart.length > 0) log.warn('config reloaded; some changes need a restart', fields)
      else log.info('config reloaded', fields)
    }
    try {
      writeReloadRecord(this.o.dataDir, { ...status, pid: process.pid, startedAt })
    } catch {}
    for (const l of this.#listeners) l()
    return status
  }

  /** Resolve and check everything first; only then change the running configuration. */
  async #apply(): Promise<{ applied: string[]; needsRestart: string[] }> {
    const { services, args, env } = this.o
    const config = services.config
    // The text read now is what applies: a save the watcher has yet to report is included,
    // and not reloaded a second time.
    this.#watch?.remember()
    // Note: awaited, so a resolveConfig that loads its parser lazily works unchanged.
    const next = await resolveConfig(args, env)
    applyContainerMode(next, env)
    const hooks = readWebhookSecrets(next.webhooks)
    const plan = planReload(config, next)

    // Nothing below can fail on the file's content. `config` is the object every service
    // reads (the guard's options are views of it), so a copied field applies from the next request.
    const target = config as unknown as Record<string, unknown>
    for (const key of plan.apply) {
      target[key] = (next as unknown as Record<string, unknown>)[key]
      config.sources[key] = next.sources[key]
    }
    services.log.addSecret(config.apiKey)
    if (plan.apply.includes('allowedOrigins')) services.guard.origins.reset(config.allowedOrigins)
    // Secret files are read on every reload: a rotated webhook secret counts as a change.
    if (services.webhooks?.reconfigure(hooks, config.webhookRetryMs) && !plan.applied.includes('webhooks')) plan.applied.push('webhooks')
    if (plan.apply.includes('apps')) await services.apps?.reconfigure(config.apps)
    return { applied: plan.applied, needsRestart: plan.needsRestart }
  }
}
