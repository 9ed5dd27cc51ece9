/**
 * One HTTP exchange with an app: any method, the request body streamed up and the response
 * body streamed down as they come (never buffered whole, so uploads, downloads, SSE and
 * chunked responses flow), redirects passed through rather than followed, compressed
 * bodies passed through as they are.
 *
 * Ordinary requests to an http:// app (no body, or a small one of declared length) go over
 * latchkey's own pool of keep-alive connections (upstream-client.ts); large or streamed
 * uploads, https targets and runtimes without raw sockets (Deno) go through fetch().
 */
import { runtime } from '../runtime/index.ts'
import { Deadlines, type Watched } from './deadlines.ts'
import { editDownstreamHeaders, type DownstreamContext } from './proxy-headers.ts'
import { poolFor, sendPooled } from './upstream-client.ts'
import { UpstreamError } from './upstream-error.ts'

/** Request bodies up to this size with a declared length are read whole and sent over the pool. */
const SMALL_BODY = 64 * 1024
/** A request target the pool sends as it is: a path and query of visible ASCII only. */
const PLAIN_TARGET = /^\/[\x21-\x7e]*$/

export interface ProxyRequest {
  url: string
  method: string
  headers: Headers
  body: ReadableStream<Uint8Array> | null
  /** Whether the client has gone away: the upstream exchange then ends with it. */
  clientGone(): boolean
  /** How long the app may stay silent: no response head, no upload progress, no body bytes. */
  timeoutMs: number
}

/** Every waiting exchange of the process, swept together. */
const waiting = new Deadlines()

/**
 * Send one request upstream; resolves with the app's response as fetch gives it (head
 * received, body live and unread).
 */
export function sendUpstream(req: ProxyRequest): Promise<Response> {
  const hasBody = req.body !== null && req.method !== 'GET' && req.method !== 'HEAD'
  // The origin is everything before the path: targets are validated http(s) URLs.
  const slash = req.url.indexOf('/', req.url.indexOf('//') + 2)
  const pool = slash === -1 ? null : poolFor(req.url.slice(0, slash))
  if (pool !== null) {
    const target = req.url.slice(slash)
    const length = hasBody ? req.headers.get('content-length') : null
    if (PLAIN_TARGET.test(target) && (!hasBody || (length !== null && Number(length) <= SMALL_BODY))) {
      const send = (body: Uint8Array | null) => sendPooled(pool, { method: req.method, target, headers: req.headers, body, timeoutMs: req.timeoutMs, clientGone: req.clientGone }, waiting)
      return hasBody ? readBody(req).then(send) : send(null)
    }
  }
  return sendFetch(req, hasBody)
}

/** A small request body, read whole before it is sent. */
async function readBody(req: ProxyRequest): Promise<Uint8Array> {
  try {
    return new Uint8Array(await new Response(req.body).arrayBuffer())
  } catch {
    if (req.clientGone()) throw new UpstreamError('client-gone', 'the client went away')
    throw new UpstreamError('failed', "the request body could not be read")
  }
}

async function sendFetch(req: ProxyRequest, hasBody: boolean): Promise<Response> {
  const controller = new AbortController()
  let why: 'timeout' | 'client' | null = null
  const watch: Watched = {
    prev: null,
    next: null,
    deadline: performance.now() + req.timeoutMs,
    clientGone: req.clientGone,
    expire(reason: 'timeout' | 'client') {
      why = reason
      controller.abort()
    },
  }
  waiting.add(watch)
  try {
    return await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      // The bound is on silence, not on the whole exchange: a long upload that keeps moving
      // pushes the deadline back with every chunk.
      body: hasBody ? req.body!.pipeThrough(progress(() => (watch.deadline = performance.now() + req.timeoutMs))) : undefined,
      redirect: 'manual',
      signal: controller.signal,
      // These only matter on Bun (Deno ignores unknown init fields): stream the upload, pass
      // Content-Encoding through untouched instead of decoding it, and let the app's socket
      // stay silent as long as the app may (Bun's own default cuts it at 5 minutes). A body
      // that stays silent longer fails, and the client's copy is cut short with it.
      duplex: 'half',
      decompress: false,
      timeout: req.timeoutMs,
    } as RequestInit)
  } catch (err) {
    if (why === 'timeout') throw new UpstreamError('timeout', `the app did not answer within ${Math.round(req.timeoutMs / 1000)} s`)
    if (why === 'client' || req.clientGone()) throw new UpstreamError('client-gone', 'the client went away')
    const text = String((err as { code?: string })?.code ?? '') + ' ' + String((err as Error)?.message ?? err)
    if (/ECONNREFUSED|refused|ConnectionRefused/i.test(text)) throw new UpstreamError('refused', 'nothing is listening at the app\'s address')
    throw new UpstreamError('failed', `the connection to the app failed (${text.trim().slice(0, 120)})`)
  } finally {
    waiting.delete(watch)
  }
}

const NO_BODY_STATUS = new Set([101, 204, 205, 304])

/** Whether fetch's response headers may be edited (Bun: yes; Deno guards them), found once. */
let editable: boolean | undefined

function editableHeaders(res: Response): Headers {
  if (editable === undefined) {
    try {
      res.headers.delete('x-latchkey-probe')
      editable = true
    } catch {
      editable = false
    }
  }
  return editable ? res.headers : new Headers(res.headers)
}

/**
 * The response for the client from the app's: its head edited for the client (in place when
 * the runtime allows, and then the app's response itself goes out), its body streamed.
 * `sent(status, bytes)` is called once the body's size is known: at once for a declared
 * Content-Length or no body, when the body ends otherwise.
 */
export function clientResponse(res: Response, method: string, ctx: DownstreamContext, sent: (status: number, bytes: number) => void): Response {
  const headers = editableHeaders(res)
  editDownstreamHeaders(headers, ctx)
  const { status, statusText } = res
  if (NO_BODY_STATUS.has(status) || method === 'HEAD') {
    void res.body?.cancel().catch(() => {})
    sent(status, 0)
    return new Response(null, { status, statusText, headers })
  }
  const length = headers.get('content-length')
  if (length !== null) {
    sent(status, Number(length))
    // Untouched body: the runtime sends it on natively.
    return headers === res.headers ? res : new Response(res.body, { status, statusText, headers })
  }
  const body = res.body
  if (body === null) {
    sent(status, 0)
    return new Response(null, { status, statusText, headers })
  }
  return new Response(runtime.countingStream(body, (bytes) => sent(status, bytes)), { status, statusText, headers })
}

function progress(onChunk: () => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      onChunk()
      controller.enqueue(chunk)
    },
  })
}

/**
 * `res` with its body cut off (an error, never a clean end) once `ended` aborts: a share
 * link's session that is revoked or expires stops receiving a stream it had opened (an
 * event stream, a long download) within the second, as its WebSockets are closed.
 */
export function cutWhen(res: Response, ended: AbortSignal): Response {
  if (res.body === null) return res
  const reader = res.body.getReader()
  let cut: (() => void) | null = null
  const release = () => {
    if (cut) ended.removeEventListener('abort', cut)
    cut = null
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      cut = () => {
        release()
        controller.error(new Error('the share link this session came from has ended'))
        void reader.cancel().catch(() => {})
      }
      ended.addEventListener('abort', cut, { once: true })
    },
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) {
        release()
        controller.close()
      } else controller.enqueue(value)
    },
    cancel(reason) {
      release()
      return reader.cancel(reason)
    },
  }, { highWaterMark: 0 })
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
}
