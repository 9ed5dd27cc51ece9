/**
 * One keep-alive HTTP/1.1 connection to an app, owned by its pool (upstream-pool.ts). It
 * carries one exchange at a time: it writes the request whole and reads the response with
 * the strict parser (http1-response.ts). It is offered back to the pool only when the
 * response ended exactly where its framing said, the app keeps the connection open, and
 * nothing came after it. Anything else closes it (a framing error, bytes after the body or
 * while idle, an exchange given up), so a misbehaving app can never shift a response onto
 * the next request.
 */
import { Buffer } from 'node:buffer'
import type { TcpConnection, TcpEvents } from '../runtime/index.ts'
import { FramingError, ResponseParser, type ResponseSink } from './http1-response.ts'

/** The exchange a connection carries. */
export interface ExchangeSink extends ResponseSink {
  /**
   * The connection failed before the response ended (`err` a FramingError when the app sent
   * something malformed or closed too soon). `untouched`: no byte of a response had come.
   */
  broken(err: Error, untouched: boolean): void
}

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** An exchange ended cleanly: the connection may carry another. */
  reusable(conn: UpstreamConnection): void
  /** The connection has closed (told once). */
  closed(conn: UpstreamConnection): void
}

export class UpstreamConnection implements TcpEvents {
  #socket: TcpConnection | null = null
  readonly #parser = new ResponseParser()
  #sink: ExchangeSink | null = null
  /** Request bytes the socket has not taken yet. */
  #unsent: Uint8Array | null = null
  #paused = false
  #closed = false
  /** Exchanges started on this connection: more than one means it is a reused one. */
  uses = 0
  /** performance.now() when it last went idle. */
  idleSince = 0

  constructor(private readonly owner: ConnectionOwner) {}

  attach(socket: TcpConnection): void {
    this.#socket = socket
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Write one request (`request` complete: head and any body; a string only when it is
   * ASCII) and read its response into `sink`. `noBody`: the request is HEAD.
   */
  send(request: string | Uint8Array, noBody: boolean, sink: ExchangeSink): void {
    this.uses++
    this.#parser.reset(noBody)
    if (this.#closed || this.#socket === null) return sink.broken(new FramingError('the connection closed before any answer', true), true)
    this.#sink = sink
    const written = this.#socket.write(request)
    if (written < request.length) {
      const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request
      this.#unsent = bytes.subarray(Math.max(0, written))
    }
  }

  pause(): void {
    if (this.#paused) return
    this.#paused = true
    this.#socket?.pause()
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#socket?.resume()
  }

  /** Give up the exchange (timed out, client gone, body cancelled): the connection closes. */
  abandon(): void {
    this.#sink = null
    this.destroy()
  }

  destroy(): void {
    if (this.#closed) return
    this.#socket?.destroy()
    this.close()
  }

  data(bytes: Uint8Array): void {
    const sink = this.#sink
    // Bytes nobody asked for (while idle, or for an exchange given up): never reuse.
    if (sink === null) return this.destroy()
    let used: number
    try {
      used = this.#parser.push(bytes, sink)
    } catch (err) {
      this.#sink = null
      this.destroy()
      return sink.broken(err as Error, false)
    }
    // Still reading, or the exchange gave up while it was being told.
    if (!this.#parser.done || this.#sink !== sink) return
    this.#sink = null
    // Bytes after the end would be taken for the next response: never reuse then.
    if (used === bytes.length && this.#parser.keepAlive && this.#unsent === null && !this.#closed) {
      this.resume()
      this.owner.reusable(this)
    } else this.destroy()
  }

  drain(): void {
    const unsent = this.#unsent
    if (unsent === null || this.#socket === null) return
    const written = this.#socket.write(unsent)
    this.#unsent = written >= unsent.length ? null : unsent.subarray(Math.max(0, written))
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    const sink = this.#sink
    this.#sink = null
    if (sink !== null) {
      try {
        // A body read until the close ends here; anything else was cut short.
        this.#parser.eof(sink)
      } catch (err) {
        sink.broken(err as Error, !this.#parser.started)
      }
    }
    this.owner.closed(this)
  }
}
