/**
 * The one tunnel lifecycle (states.ts) for every provider: prerequisite gates (409 before
 * anything is spawned), spawn in a process group, readiness and URL from the provider's
 * parser, start timeout, crash → failed with the last stderr lines (redacted), autoRestart
 * with backoff, stop (SIGTERM, SIGKILL after the grace period), restart markers and the
 * tunnel's public origin in the origin policy while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { ProviderName } from '../config/settings-schema.ts'
import { ConflictError } from '../errors.ts'
import { canTransition, TransitionError, type TunnelState } from './states.ts'
import type { TunnelKind, TunnelPlan } from './types.ts'
import { checkStart } from './prerequisites.ts'
import { tailscalePlan } from './tailscale-tunnel.ts'
import { cloudflareQuickPlan, quickTunnelUrl } from './cloudflare-quick.ts'
import { cloudflareNamedPlan } from './cloudflare-named.ts'
import { groupAlive, spawnWatchdog, stopGroup } from './process-group.ts'
import { OutputTail } from './output-tail.ts'
import { childEnv } from './run-command.ts'
import { clearRunningMarker, setRunningMarker } from './markers.ts'
import { PidRegistry } from './pid-registry.ts'
import type { TunnelDeps, RestoreInfo, IngressHandle } from './deps.ts'

interface Run {
  child: ChildProcess
  pgid: number
  plan: TunnelPlan
  exited: Promise<void>
  tail: OutputTail
  timer: ReturnType<typeof setTimeout> | null
  metricsAddr: string | null
  readySeen: boolean
  stopping: boolean
  runningSince: number | null
}

export interface TransitionEvent {
  from: TunnelState
  to: TunnelState
  at: number
}

const BACKOFF_BASE_MS = 1000
const BACKOFF_MAX_MS = 30_000
/** A tunnel that ran this long before failing starts the backoff afresh. */
const BACKOFF_RESET_MS = 60_000

export class TunnelManager {
  #state: TunnelState = 'stopped'
  #provider: ProviderName | null = null
  #kind: TunnelKind | null = null
  #url: string | null = null
  #lastError: string | null = null
  #lastErrorCode: string | null = null
  #run: Run | null = null
  #cleanup: Promise<void> = Promise.resolve()
  #ingress: IngressHandle | null = null
  #restartTimer: ReturnType<typeof setTimeout> | null = null
  #restartAttempts = 0
  #restarts = 0
  #listeners = new Set<(e: TransitionEvent) => void>()
  readonly pids: PidRegistry
  restore: RestoreInfo = { outcome: 'skipped', reason: 'not_attempted', at: null, provider: null }

  constructor(private readonly deps: TunnelDeps) {
    this.pids = new PidRegistry(deps.dataDir)
  }

  get state(): TunnelState {
    return this.#state
  }

  /** Automatic restarts since latchkey started (GET /metrics). */
  get restarts(): number {
    return this.#restarts
  }

  /** Be told of every state change (tests, the TUI). */
  onTransition(listener: (e: TransitionEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** The status fields of runbook §2.3, minus externalTunnel (status.ts adds it). */
  snapshot() {
    return {
      state: this.#state,
      provider: this.#state === 'stopped' || !this.#provider ? this.deps.settings.get().remoteAccess.activeProvider : this.#provider,
      kind: this.#kind,
      url: this.#state === 'running' ? this.#url : null,
      lastError: this.#lastError,
      lastErrorCode: this.#lastErrorCode,
      pid: this.#run && this.#state !== 'failed' ? this.#run.child.pid ?? null : null,
      ingressPort: this.#run?.plan.ingressPort ?? null,
    }
  }

  /**
   * Start the active provider (or `provider` for a restore). Throws a 409 ConflictError naming
   * what is missing before anything is spawned; otherwise returns once the child is spawned.
   */
  async start(opts: { provider?: ProviderName | null; restart?: boolean } = {}): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'running' || this.#state === 'stopping') {
      throw new ConflictError('tunnel_already_running', `Cannot start a tunnel: one is already ${this.#state} (stop it first with POST /api/remote/tunnel/stop)`)
    }
    if (!opts.restart) this.#cancelRestart()
    await this.#cleanup
    const remote = this.deps.settings.get().remoteAccess
    const provider = opts.provider !== undefined ? opts.provider : remote.activeProvider
    const gate = checkStart(remote, provider, { requireEnabled: true, extraDirs: this.deps.extraDirs })
    if ('problem' in gate) throw new ConflictError(gate.problem.code, gate.problem.message)
    const ctx = { remote, executable: gate.executable, ingressPort: 0 }
    let plan: TunnelPlan
    if (provider === 'tailscale') {
      ctx.ingressPort = await this.#bindTailscaleIngress(remote.providers.tailscale.targetPort!)
      plan = tailscalePlan(ctx, { socket: this.deps.tailscaleSocket })
    } else {
      ctx.ingressPort = this.deps.ports().cloudflareIngress
      plan = remote.providers.cloudflare.quickTunnel ? cloudflareQuickPlan(ctx) : cloudflareNamedPlan(ctx)
    }
    if (this.#state !== 'stopped' && this.#state !== 'failed') {
      throw new ConflictError('tunnel_already_running', `Cannot start a tunnel: one is already ${this.#state}`)
    }
    for (const s of plan.secrets) this.deps.log.addSecret(s)
    this.#provider = plan.provider
    this.#kind = plan.kind
    this.#url = plan.knownUrl
    this.#lastError = null
    this.#lastErrorCode = null
    this.#transition('starting')
    this.#spawn(plan)
  }

  #spawn(plan: TunnelPlan): void {
    let child: ChildProcess
    try {
      child = spawn(plan.executable, plan.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(plan.env, this.deps.env) })
    } catch (err) {
      return this.#failNoRun('spawn_failed', `Cannot start ${plan.kind}: ${(err as Error).message}`)
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const run: Run = { child, pgid: child.pid ?? 0, plan, exited, tail: new OutputTail(), timer: null, metricsAddr: null, readySeen: false, stopping: false, runningSince: null }
    this.#run = run
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (this.#run !== run || child.pid) return
      this.#run = null
      this.#failNoRun('spawn_failed', `Cannot start ${plan.kind}: ${err.code ?? err.message}`)
    })
    if (!child.pid) return
    this.pids.add(child.pid, { provider: plan.provider, kind: plan.kind })
    spawnWatchdog(process.pid, child.pid, this.deps.graceMs())
    this.deps.log.info('tunnel starting', { provider: plan.provider, kind: plan.kind, pid: child.pid, ingressPort: plan.ingressPort })
    const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
      if (this.#run !== run) return
      this.deps.log.debug('tunnel output', { stream, line: this.#redact(line, plan) })
      const ev = plan.parse(line, stream)
      if (!ev) return
      if (ev.metricsAddr) run.metricsAddr = ev.metricsAddr
      if (ev.url) this.#url ??= ev.url
      if (ev.ready) run.readySeen = true
      void this.#maybeRunning(run)
    }
    run.tail.follow(child.stdout, 'stdout', onLine('stdout'))
    run.tail.follow(child.stderr, 'stderr', onLine('stderr'))
    run.timer = setTimeout(() => {
      if (this.#run === run && this.#state === 'starting') {
        this.#fail(run, 'start_timeout', `The tunnel did not become ready within ${Math.round(this.deps.startTimeoutMs() / 1000)} s`)
      }
    }, this.deps.startTimeoutMs())
    child.once('exit', (code, signal) => this.#onExit(run, code, signal))
  }

  async #maybeRunning(run: Run): Promise<void> {
    if (this.#run !== run || this.#state !== 'starting' || !run.readySeen) return
    // facts §1.4: the banner may be missed (another log format); ask the metrics server.
    if (!this.#url && run.metricsAddr) this.#url = await quickTunnelUrl(run.metricsAddr)
    if (!this.#url || this.#run !== run || this.#state !== 'starting') return
    if (run.timer) clearTimeout(run.timer)
    run.runningSince = Date.now()
    this.#transition('running')
    setRunningMarker(this.deps.settings, run.plan.provider, this.deps.log)
    this.deps.log.info('tunnel running', { provider: run.plan.provider, url: this.#url })
  }

  #onExit(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    if (run.timer) clearTimeout(run.timer)
    if (run.child.pid) this.pids.remove(run.child.pid)
    if (this.#run !== run || run.stopping) return
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
    const detail = run.tail.last(5, this.#secrets(run.plan))
    const wasRunning = this.#state === 'running'
    this.#fail(run, wasRunning ? 'tunnel_exited' : 'exited_before_ready', `The tunnel ${how}${detail ? `: ${detail}` : ''}`)
    if (wasRunning) this.#scheduleRestart(run)
  }

  /** Move to failed, kill what is left of the group, release the ingress. */
  #fail(run: Run, code: string, message: string): void {
    if (run.timer) clearTimeout(run.timer)
    this.#lastErrorCode = code
    this.#lastError = this.#redact(message, run.plan)
    this.#transition('failed')
    this.deps.log.warn('tunnel failed', { provider: run.plan.provider, code, error: this.#lastError })
    this.#run = null
    const autoRestart = this.deps.settings.get().remoteAccess.lifecycle.autoRestart && run.runningSince !== null
    if (!autoRestart) clearRunningMarker(this.deps.settings, this.deps.log)
    this.#cleanup = this.#reapRun(run, !autoRestart)
  }

  #failNoRun(code: string, message: string): void {
    this.#lastErrorCode = code
    this.#lastError = message
    this.#transition('failed')
    this.#cleanup = this.#releaseIngress()
  }

  async #reapRun(run: Run, releaseIngress: boolean): Promise<void> {
    if (run.pgid && groupAlive(run.pgid)) await stopGroup(run.pgid, this.deps.graceMs(), run.exited)
    if (releaseIngress) await this.#releaseIngress()
  }

  #scheduleRestart(run: Run): void {
    if (!this.deps.settings.get().remoteAccess.lifecycle.autoRestart) return
    if (run.runningSince !== null && Date.now() - run.runningSince > BACKOFF_RESET_MS) this.#restartAttempts = 0
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.#restartAttempts++)
    this.deps.log.info('tunnel restarting', { provider: run.plan.provider, inMs: delay })
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null
      if (this.#state !== 'failed') return
      this.#restarts++
      this.start({ provider: run.plan.provider, restart: true }).catch((err) => {
        this.#lastErrorCode = (err as ConflictError).code ?? 'restart_failed'
        this.#lastError = (err as Error).message
        clearRunningMarker(this.deps.settings, this.deps.log)
      })
    }, delay)
    this.#restartTimer.unref?.()
  }

  #cancelRestart(): void {
    if (this.#restartTimer) clearTimeout(this.#restartTimer)
    this.#restartTimer = null
    this.#restartAttempts = 0
  }

  /**
   * Stop the tunnel: SIGTERM to its group, SIGKILL after the grace period. A manual stop
   * clears the restart markers (runbook §3.2); latchkey's own shutdown keeps them.
   */
  async stop(opts: { clearMarkers: boolean }): Promise<void> {
    this.#cancelRestart()
    if (opts.clearMarkers) clearRunningMarker(this.deps.settings, this.deps.log)
    const run = this.#run
    if (!run) {
      await this.#cleanup
      if (this.#state === 'failed') this.#transition('stopped')
      return
    }
    if (run.stopping) return void (await run.exited)
    run.stopping = true
    if (run.timer) clearTimeout(run.timer)
    this.#transition('stopping')
    if (run.pgid) await stopGroup(run.pgid, this.deps.graceMs(), run.exited)
    await Promise.race([run.exited, new Promise((r) => setTimeout(r, 1000))])
    if (run.child.pid) this.pids.remove(run.child.pid)
    this.#run = null
    await this.#releaseIngress()
    if (run.pgid && groupAlive(run.pgid)) {
      this.#lastErrorCode = 'stop_failed'
      this.#lastError = `The tunnel process group ${run.pgid} did not exit after SIGKILL`
      this.#transition('failed')
      return
    }
    this.#transition('stopped')
    this.deps.log.info('tunnel stopped', { provider: run.plan.provider })
  }

  /** latchkey is exiting: stop the child, keep the markers (the tunnel was running at shutdown). */
  shutdown(): Promise<void> {
    return this.stop({ clearMarkers: false })
  }

  async #bindTailscaleIngress(port: number): Promise<number> {
    if (this.#ingress?.port === port) return port
    await this.#releaseIngress()
    const p = this.deps.ports()
    const taken = port === p.dashboard || port === p.api || port === p.cloudflareIngress
    try {
      if (taken) throw new Error('in use by latchkey')
      this.#ingress = await this.deps.listenTailscaleIngress(port)
      return this.#ingress.port
    } catch {
      throw new ConflictError('target_port_in_use', `Cannot start the Tailscale tunnel: remoteAccess.providers.tailscale.targetPort ${port} is already in use (choose a free port: latchkey's Tailscale ingress listens there and the funnel forwards to it)`)
    }
  }

  async #releaseIngress(): Promise<void> {
    const h = this.#ingress
    this.#ingress = null
    await h?.stop().catch(() => {})
  }

  #secrets(plan: TunnelPlan): string[] {
    return [...plan.secrets, ...this.deps.extraSecrets()].filter((s) => s && s.length >= 4)
  }

  #redact(text: string, plan: TunnelPlan): string {
    let out = text
    for (const s of this.#secrets(plan)) out = out.split(s).join('[redacted]')
    return out
  }

  #transition(to: TunnelState): void {
    const from = this.#state
    if (!canTransition(from, to)) throw new TransitionError(from, to)
    this.#state = to
    const e = { from, to, at: Date.now() }
    for (const l of this.#listeners) l(e)
  }
}
