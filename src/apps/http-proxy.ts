/**
 * One HTTP exchange with an app: any method, the request body streamed up and the response
 * body streamed down as they come (never buffered whole, so uploads, downloads, SSE and
 * chunked responses flow), redirects passed through rather than followed, compressed
 * bodies passed through as they are.
 */

/** Why an upstream gave no answer: nothing listening, no answer in time, or anything else. */
export class UpstreamError extends Error {
  constructor(readonly kind: 'refused' | 'timeout' | 'failed', message: string) {
    super(message)
    this.name = 'UpstreamError'
  }
}

const NO_BODY_STATUS = new Set([101, 204, 205, 304])

export interface ProxyRequest {
  url: string
  method: string
  headers: Headers
  body: ReadableStream<Uint8Array> | null
  /** Aborted when the client goes away: the upstream exchange ends with it. */
  clientSignal: AbortSignal
  /** How long the app may take to send its response head. */
  timeoutMs: number
}

export interface ProxyAnswer {
  status: number
  statusText: string
  headers: Headers
  body: ReadableStream<Uint8Array> | null
}

/** Send one request upstream; resolves with the response head and a live body stream. */
export async function sendUpstream(req: ProxyRequest): Promise<ProxyAnswer> {
  const controller = new AbortController()
  const onClientGone = () => controller.abort()
  req.clientSignal.addEventListener('abort', onClientGone, { once: true })
  let timedOut = false
  const expire = () => {
    timedOut = true
    controller.abort()
  }
  let timer = setTimeout(expire, req.timeoutMs)
  const hasBody = req.body !== null && req.method !== 'GET' && req.method !== 'HEAD'
  // The bound is on silence, not on the whole exchange: a long upload that keeps moving
  // restarts the clock with every chunk.
  const bump = () => {
    clearTimeout(timer)
    timer = setTimeout(expire, req.timeoutMs)
  }
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: hasBody ? req.body!.pipeThrough(progress(bump)) : undefined,
      redirect: 'manual',
      signal: controller.signal,
      // Both only matter on Bun (Deno ignores unknown init fields): stream the upload, and
      // pass Content-Encoding through untouched instead of decoding it.
      duplex: 'half',
      decompress: false,
    } as RequestInit)
    const body = NO_BODY_STATUS.has(res.status) || req.method === 'HEAD' ? null : res.body
    if (body === null) void res.body?.cancel().catch(() => {})
    return { status: res.status, statusText: res.statusText, headers: res.headers, body }
  } catch (err) {
    if (timedOut) throw new UpstreamError('timeout', `the app did not answer within ${Math.round(req.timeoutMs / 1000)} s`)
    if (req.clientSignal.aborted) throw new UpstreamError('failed', 'the client went away')
    const text = String((err as { code?: string })?.code ?? '') + ' ' + String((err as Error)?.message ?? err)
    if (/ECONNREFUSED|refused|ConnectionRefused/i.test(text)) throw new UpstreamError('refused', 'nothing is listening at the app\'s address')
    throw new UpstreamError('failed', `the connection to the app failed (${text.trim().slice(0, 120)})`)
  } finally {
    clearTimeout(timer)
    req.clientSignal.removeEventListener('abort', onClientGone)
  }
}

/**
 * Pass `body` through, calling `done(bytes)` once it has ended (or failed). Used only when
 * the length is not known up front, so the access log can record the bytes sent.
 */
export function countingBody(body: ReadableStream<Uint8Array>, done: (bytes: number) => void): ReadableStream<Uint8Array> {
  let bytes = 0
  let finished = false
  const finish = () => {
    if (!finished) {
      finished = true
      done(bytes)
    }
  }
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read()
        if (end) {
          finish()
          controller.close()
          return
        }
        bytes += value.byteLength
        controller.enqueue(value)
      } catch (err) {
        finish()
        controller.error(err)
      }
    },
    cancel(reason) {
      finish()
      return reader.cancel(reason)
    },
  }, { highWaterMark: 0 })
}

function progress(onChunk: () => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      onChunk()
      controller.enqueue(chunk)
    },
  })
}
