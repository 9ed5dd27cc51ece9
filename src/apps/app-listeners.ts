/**
 * One listener per port-mode app, kept in step with the app list: opened when an app
 * appears, closed when it goes, reopened when its port changes or an admin restarts it.
 * A port that cannot be opened is reported on the app (and in the log), not fatal.
 */
import type { ServerHandle } from '../runtime/index.ts'
import type { Logger } from '../log.ts'
import type { AppEntry } from './registry.ts'

export type OpenListener = (port: number, app: string) => Promise<ServerHandle>

export interface ListenerState {
  port: number
  listening: boolean
  error: string | null
}

interface Slot {
  port: number
  handle: ServerHandle | null
  error: string | null
}

export class AppListeners {
  #slots = new Map<string, Slot>()
  /** Changes run one after another, so a fast edit never races a slow close. */
  #queue: Promise<void> = Promise.resolve()

  constructor(private readonly open: OpenListener, private readonly log: Logger) {}

  /** Bring the listeners in line with `apps`; resolves when done. */
  sync(apps: readonly AppEntry[]): Promise<void> {
    return this.#enqueue(async () => {
      const wanted = new Map(apps.filter((a) => a.spec.port !== undefined).map((a) => [a.spec.name, a.spec.port!]))
      for (const [name, slot] of [...this.#slots]) {
        if (wanted.get(name) !== slot.port) {
          await this.#close(name, slot)
          this.#slots.delete(name)
        }
      }
      for (const [name, port] of wanted) if (!this.#slots.has(name)) await this.#start(name, port)
    })
  }

  /** Close and reopen one app's listener (the admin "restart"). */
  restart(name: string): Promise<ListenerState | null> {
    return this.#enqueue(async () => {
      const slot = this.#slots.get(name)
      if (!slot) return
      // Reopen where it was bound (for port 0, the port it was given), so links keep working.
      const bound = slot.handle?.port ?? slot.port
      await this.#close(name, slot)
      await this.#start(name, slot.port, bound)
    }).then(() => this.state(name))
  }

  state(name: string): ListenerState | null {
    const slot = this.#slots.get(name)
    return slot ? { port: slot.handle?.port ?? slot.port, listening: slot.handle !== null, error: slot.error } : null
  }

  stop(): Promise<void> {
    return this.#enqueue(async () => {
      await Promise.allSettled([...this.#slots].map(([name, slot]) => this.#close(name, slot)))
      this.#slots.clear()
    })
  }

  async #start(name: string, port: number, bindTo = port): Promise<void> {
    const slot: Slot = { port, handle: null, error: null }
    this.#slots.set(name, slot)
    try {
      slot.handle = await this.open(bindTo, name)
      this.log.info('app listening', { app: name, port: slot.handle.port })
    } catch (err: any) {
      const inUse = err?.code === 'EADDRINUSE' || /in use/i.test(String(err?.message))
      slot.error = inUse ? `Port ${port} is already in use: choose another port for "${name}"` : `Cannot listen on port ${port} (${err?.code ?? err?.message ?? err})`
      this.log.error('app listener failed', { app: name, port, error: slot.error })
    }
  }

  async #close(name: string, slot: Slot): Promise<void> {
    if (!slot.handle) return
    const handle = slot.handle
    slot.handle = null
    // Note: stop() waits for open connections (streams, sockets); don't let one hold a restart.
    await Promise.race([handle.stop(), new Promise((r) => setTimeout(r, 1000))])
    this.log.info('app listener closed', { app: name, port: slot.port })
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task)
    this.#queue = run.catch(() => {})
    return run
  }
}
