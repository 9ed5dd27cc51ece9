/**
 * One request to an app over its pool of keep-alive connections (upstream-pool.ts), for
 * what http-proxy.ts sends this way: plain http:// targets, with no body or a small one
 * already read. It resolves as fetch() would: with the app's response once its head has
 * come (the body live, or already whole when it came with the head), and fails with the
 * same UpstreamError kinds: 'refused', 'timeout', 'client-gone', 'failed' (a malformed
 * response among them: the client gets a 502, never a guess).
 */
import { Buffer } from 'node:buffer'
import { runtime } from '../runtime/index.ts'
import type { Deadlines, Watched } from './deadlines.ts'
import { FramingError, type ResponseHead } from './http1-response.ts'
import type { ExchangeSink, UpstreamConnection } from './upstream-connection.ts'
import { UpstreamError } from './upstream-error.ts'
import { UpstreamPool, type Waiter } from './upstream-pool.ts'

/** RFC 9110 §9.2.2: these may be sent again when a reused connection dies under them. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
/** RFC 9110 §8.6: methods whose requests carry Content-Length even when empty. */
const EMPTY_BODY_LENGTH = new Set(['POST', 'PUT', 'PATCH'])
/** Body bytes held for a slow client before the app's socket stops being read. */
const HIGH_WATER = 64 * 1024
const NON_ASCII = /[^\x00-\x7f]/

/** Pools by origin; null for an origin this client does not serve (https, user:password@). */
const pools = new Map<string, UpstreamPool | null>()

/** The pool for `origin` (scheme://host:port, no path), or null when fetch() must send the request. */
export function poolFor(origin: string): UpstreamPool | null {
  let pool = pools.get(origin)
  if (pool !== undefined) return pool
  pool = null
  if (runtime.connect) {
    try {
      const url = new URL(origin)
      if (url.protocol === 'http:' && !url.username && !url.password) {
        const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1')
        const port = Number(url.port || 80)
        pool = new UpstreamPool(url.host, (events) => runtime.connect!(hostname, port, events))
      }
    } catch {
      // Not a URL fetch could use either: fetch() says so.
    }
  }
  pools.set(origin, pool)
  return pool
}

export interface PooledRequest {
  method: string
  /** The request target: path and query. */
  target: string
  headers: Headers
  /** The whole body (only for methods other than GET and HEAD), or null. */
  body: Uint8Array | null
  timeoutMs: number
  clientGone(): boolean
}

/** Send `req` on a connection from `pool`, watched by `waiting` until its response has ended. */
export function sendPooled(pool: UpstreamPool, req: PooledRequest, waiting: Deadlines): Promise<Response> {
  return new Promise((resolve, reject) => {
    const exchange = new Exchange(pool, req, serialize(req, pool.host), waiting, resolve, reject)
    waiting.add(exchange)
    pool.acquire(exchange)
  })
}

/** The request as it goes on the wire: a string when it is ASCII with no body, bytes otherwise. */
function serialize(req: PooledRequest, host: string): string | Uint8Array {
  let head = `${req.method} ${req.target} HTTP/1.1\r\nhost: ${host}\r\n`
  // The length is this client's to state: it sends exactly the body it has.
  for (const [name, value] of req.headers) if (name !== 'content-length') head += `${name}: ${value}\r\n`
  if (req.body !== null) head += `content-length: ${req.body.length}\r\n`
  else if (EMPTY_BODY_LENGTH.has(req.method)) head += 'content-length: 0\r\n'
  head += '\r\n'
  if (req.body === null && !NON_ASCII.test(head)) return head
  // Header values are latin1 (ByteString): one byte per character.
  const bytes = Buffer.from(head, 'latin1')
  return req.body === null ? bytes : Buffer.concat([bytes, req.body])
}

/** One request and its response: what waits for a connection, reads the answer and is watched for silence. */
class Exchange implements Waiter, ExchangeSink, Watched {
  prev: Watched | null = null
  next: Watched | null = null
  deadline: number
  readonly clientGone: () => boolean
  #conn: UpstreamConnection | null = null
  #retried = false
  #answered = false
  #over = false
  #body: ReadableStreamDefaultController<Uint8Array> | null = null

  constructor(
    private readonly pool: UpstreamPool,
    private readonly req: PooledRequest,
    private readonly wire: string | Uint8Array,
    private readonly waiting: Deadlines,
    private readonly resolve: (res: Response) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.deadline = performance.now() + req.timeoutMs
    this.clientGone = req.clientGone
  }

  granted(conn: UpstreamConnection): void {
    // Given up while the connection was opening: someone else may use it.
    if (this.#over) return this.pool.reusable(conn)
    this.#conn = conn
    conn.send(this.wire, this.req.method === 'HEAD', this)
  }

  refused(err: Error): void {
    const code = String((err as { code?: string }).code ?? '')
    if (code === 'ECONNREFUSED') return this.#fail(new UpstreamError('refused', "nothing is listening at the app's address"))
    this.#fail(new UpstreamError('failed', `the connection to the app failed (${`${code} ${err.message}`.trim().slice(0, 120)})`))
  }

  whole(head: ResponseHead, body: Uint8Array | null): void {
    this.#end()
    this.#answer(head, body as BodyInit | null)
  }

  head(head: ResponseHead): void {
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => void (this.#body = controller),
        // The client is reading: that is not the app being silent.
        pull: () => {
          this.deadline = performance.now() + this.req.timeoutMs
          this.#conn?.resume()
        },
        cancel: () => this.#fail(new UpstreamError('client-gone', 'the client went away'), true),
      },
      { highWaterMark: HIGH_WATER, size: (chunk) => chunk!.byteLength },
    )
    this.#answer(head, body)
  }

  body(chunk: Uint8Array): void {
    this.deadline = performance.now() + this.req.timeoutMs
    const body = this.#body!
    body.enqueue(chunk)
    if (body.desiredSize! <= 0) this.#conn?.pause()
  }

  end(): void {
    this.#end()
    this.#body?.close()
  }

  broken(err: Error, untouched: boolean): void {
    const conn = this.#conn
    this.#conn = null
    if (untouched && !this.#retried && !this.#answered && conn !== null && conn.uses > 1 && IDEMPOTENT.has(this.req.method)) {
      // The app closed a kept-alive connection just as the request went out: once more, on a new one.
      this.#retried = true
      return this.pool.acquire(this, true)
    }
    const why = err instanceof FramingError && !err.closed ? `the app sent a malformed response (${err.message})` : `the connection to the app failed (${err.message})`
    this.#fail(new UpstreamError('failed', why))
  }

  expire(why: 'timeout' | 'client'): void {
    if (why === 'client') return this.#fail(new UpstreamError('client-gone', 'the client went away'))
    this.#fail(new UpstreamError('timeout', `the app did not answer within ${Math.round(this.req.timeoutMs / 1000)} s`))
  }

  #answer(head: ResponseHead, body: BodyInit | null): void {
    this.#answered = true
    this.resolve(new Response(body, { status: head.status, statusText: head.statusText, headers: head.headers }))
  }

  /** The response has ended: the exchange lets go of its connection and its deadline. */
  #end(): void {
    this.#over = true
    this.#conn = null
    this.waiting.delete(this)
  }

  /** The exchange fails: its connection closes, and the error goes to whoever waits (the stream is cut short if the head went out). */
  #fail(err: UpstreamError, cancelled = false): void {
    if (this.#over) return
    const conn = this.#conn
    this.#end()
    if (conn !== null) conn.abandon()
    else this.pool.withdraw(this)
    if (!this.#answered) this.reject(err)
    else if (!cancelled) this.#body?.error(err)
  }
}
