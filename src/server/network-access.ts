/**
 * Opening a loopback-only latchkey to a network without a restart (the SSH-tunnel journey):
 * the admin, on the machine itself, picks one of this machine's addresses in the Connect
 * view, and latchkey starts a dashboard listener there at once, on the dashboard's port,
 * with the guard as on any listener (every device there needs a credential). The QR and
 * the login links then use that address, and the same view closes it again.
 *
 * The choice lasts until latchkey stops: nothing is written, so a restart is loopback-only
 * again unless `--host` says otherwise. Opening a network is a decision best made again
 * each time, and latchkey never writes latchkey.yaml.
 */
import type { ServerHandle } from '../runtime/index.ts'
import type { Logger } from '../log.ts'
import { ApiError, BadRequestError, ConflictError } from '../errors.ts'
import { isLoopbackHost, isWildcard } from '../connect/connect-address.ts'
import type { MachineAddress } from '../connect/machine-addresses.ts'

export interface NetworkAccessOptions {
  /** The `--host` latchkey was started with. */
  host: string
  /** The dashboard's bound port (0 in headless mode: there is nothing to open then). */
  port(): number
  addresses(): MachineAddress[]
  /** Open a dashboard listener on `address`:`port` (src/server/listeners.ts `listen`). */
  listen(address: string, port: number): Promise<ServerHandle>
  log: Pick<Logger, 'info' | 'warn'>
}

export interface OpenAddress {
  address: string
  port: number
  openedAt: string
}

export class NetworkAccess {
  #open = new Map<string, { handle: ServerHandle; openedAt: string }>()

  constructor(private readonly o: NetworkAccessOptions) {}

  /** Whether `--host` already listens on every address (nothing to open then). */
  get everywhere(): boolean {
    return isWildcard(this.o.host)
  }

  /** The addresses opened since start, oldest first. */
  opened(): string[] {
    return [...this.#open.keys()]
  }

  list(): OpenAddress[] {
    return [...this.#open].map(([address, o]) => ({ address, port: o.handle.port, openedAt: o.openedAt }))
  }

  /** Start listening on one of this machine's addresses. */
  async open(address: string): Promise<OpenAddress> {
    if (this.everywhere) throw new ConflictError('already_listening', `latchkey already listens on every address (--host ${this.o.host || '0.0.0.0'}): there is nothing to open`)
    const port = this.o.port()
    if (!port) throw new ConflictError('no_dashboard', 'Headless mode (latchkey serve) has no dashboard listener to open on another address')
    const mine = this.o.addresses().find((a) => a.address.toLowerCase() === address.toLowerCase())
    if (!mine) throw new BadRequestError('address', `"address" must be one of this machine's addresses (GET /api/network lists them)`)
    if (isLoopbackHost(address) || (!isLoopbackHost(this.o.host) && address === this.o.host)) {
      throw new ConflictError('already_listening', `latchkey already listens on ${address}`)
    }
    const existing = this.#open.get(mine.address)
    if (existing) return { address: mine.address, port: existing.handle.port, openedAt: existing.openedAt }
    let handle: ServerHandle
    try {
      handle = await this.o.listen(mine.address, port)
    } catch (err) {
      const why = /in use|EADDRINUSE/i.test(String((err as Error)?.message ?? err)) ? `port ${port} is already in use there` : String((err as Error)?.message ?? err)
      throw new ApiError(409, 'listen_failed', `Cannot listen on ${mine.address}:${port}: ${why}`)
    }
    const openedAt = new Date().toISOString()
    this.#open.set(mine.address, { handle, openedAt })
    this.o.log.info('listening on another address', { address: mine.address, port, interface: mine.interface, kind: mine.kind })
    return { address: mine.address, port: handle.port, openedAt }
  }

  /** Stop listening on an address opened since start; true when it was open. */
  async close(address: string): Promise<boolean> {
    const key = [...this.#open.keys()].find((a) => a.toLowerCase() === address.toLowerCase())
    if (!key) return false
    const { handle } = this.#open.get(key)!
    this.#open.delete(key)
    await handle.stop()
    this.o.log.info('stopped listening on another address', { address: key })
    return true
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.opened().map((a) => this.close(a)))
  }
}
