/**
 * The runtime seam: everything that differs between Bun and Deno.
 * Nothing outside src/runtime/ may name `Bun.` or `Deno.` (scripts/check-runtime-seam.ts checks it).
 */

/** The TCP peer of one connection, as the socket reports it (never from headers). */
export interface PeerInfo {
  address: string
  port: number
}

/** Handlers for one upgraded WebSocket (the app proxy uses these). */
export interface WebSocketHandlers {
  open?(ws: ServerSocket): void
  message?(ws: ServerSocket, data: string | Uint8Array): void
  close?(ws: ServerSocket, code: number, reason: string): void
}

/** The server side of one upgraded WebSocket, the same shape on both runtimes. */
export interface ServerSocket {
  send(data: string | Uint8Array): void
  close(code?: number, reason?: string): void
  /** Bytes queued but not yet written; used for backpressure. */
  readonly bufferedAmount: number
}

export interface RequestContext {
  peer: PeerInfo | null
  /**
   * Upgrade this request to a WebSocket. Returns the response to send (Deno) or
   * undefined once the runtime has taken over the socket (Bun); null when the request
   * is not a valid upgrade.
   */
  upgrade(handlers: WebSocketHandlers, protocol?: string): Response | undefined | null
  /**
   * Let this request's connection stay silent up to `seconds` (a proxied long poll), instead
   * of the listener's idle timeout. A no-op where the runtime has no per-request idle timer.
   */
  allowSilence(seconds: number): void
}

export interface ServeOptions {
  hostname: string
  port: number
  /** Largest request body accepted, in bytes. */
  maxRequestBodySize: number
  /** Seconds a connection may stay idle; never 0 (slow-client protection stays on). */
  idleTimeout: number
  fetch(request: Request, context: RequestContext): Response | Promise<Response>
}

export interface ServerHandle {
  readonly hostname: string
  readonly port: number
  stop(): Promise<void>
}

/** What one outgoing TCP connection reports (the app proxy's pooled HTTP/1.1 client). */
export interface TcpEvents {
  /** Bytes arrived; they are the receiver's to keep (the runtime does not reuse them). */
  data(bytes: Uint8Array): void
  /** The socket takes writes again after one it took only in part. */
  drain(): void
  /** The connection has closed: the peer closed it, it failed, or destroy() was called. */
  close(error?: Error): void
}

/** One outgoing TCP connection. */
export interface TcpConnection {
  /** Write what the socket takes now; returns how many bytes it took (the rest waits for drain). */
  write(data: string | Uint8Array): number
  /** Stop reading, so a fast app waits on TCP for a slow client instead of filling memory. */
  pause(): void
  resume(): void
  /** Close at once, dropping anything unsent. */
  destroy(): void
}

export interface Runtime {
  readonly name: 'bun' | 'deno'
  readonly version: string
  serve(options: ServeOptions): Promise<ServerHandle>
  /**
   * `body` passed through as it comes, calling `done(bytes)` once when it has ended, failed
   * or been cancelled (the app proxy's access log counts bodies of unknown length with it).
   * Cancelling the result cancels `body`.
   */
  countingStream(body: ReadableStream<Uint8Array>, done: (bytes: number) => void): ReadableStream<Uint8Array>
  /**
   * Open a TCP connection to `hostname`:`port` (an IP address or a name), reporting to
   * `events`; rejects when it cannot be opened (with `code` ECONNREFUSED when nothing
   * listens). Absent where the runtime has no raw-socket client worth using: the app proxy
   * then sends everything with fetch().
   */
  connect?(hostname: string, port: number, events: TcpEvents): Promise<TcpConnection>
}
