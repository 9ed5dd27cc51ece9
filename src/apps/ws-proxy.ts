/**
 * WebSocket upgrades to an app, proxied both ways (text and binary frames). latchkey opens
 * the upstream socket first, so an app that is down gives a 502 rather than a socket that
 * opens and dies; only then is the client upgraded, with the subprotocol the app chose.
 */
import type { RequestContext, ServerSocket } from '../runtime/index.ts'
import { UpstreamError } from './upstream-error.ts'

/** Whether a request asks for a WebSocket (RFC 6455 §4.1). */
export function isWebSocketUpgrade(request: Request): boolean {
  return (request.headers.get('upgrade') ?? '').toLowerCase() === 'websocket'
}

/**
 * A foreign page must not open a socket with the user's cookies (cross-site WebSocket
 * hijacking): a browser always sends Origin on a WebSocket handshake, so it must be the
 * app's own origin (scheme + host + port), nothing else. No Origin means a non-browser
 * client, which the guard covers.
 */
export function webSocketOriginAllowed(origin: string | null, self: string | null): boolean {
  return origin === null || origin.toLowerCase() === self
}

/** Close codes an endpoint may send (RFC 6455 §7.4): never 1005, 1006 or 1015. */
function sendableCode(code: number): number {
  return code === 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999) ? code : code === 1006 ? 1011 : 1000
}

export interface WebSocketProxyOptions {
  /** ws:// or wss:// URL of the app. */
  url: string
  headers: Headers
  protocols: string[]
  timeoutMs: number
  /** Called when both sides have closed (for the access log). */
  onClose?(bytes: number): void
  /** Close both sides when this aborts (the session that opened the socket ended). */
  ended?: AbortSignal
}

/** RFC 6455 §7.4.1: 1008, "policy violation": the session behind the socket ended. */
const SESSION_ENDED = 1008

/** Open the upstream socket, then upgrade the client. Resolves to what the listener returns. */
export async function proxyWebSocket(ctx: RequestContext, o: WebSocketProxyOptions): Promise<Response | undefined> {
  const upstream = await openUpstream(o)
  let client: ServerSocket | null = null
  let bytes = 0
  let closed = false
  const pending: (string | Uint8Array)[] = []
  const finish = () => {
    if (closed) return
    closed = true
    o.onClose?.(bytes)
  }
  upstream.onmessage = (e: MessageEvent) => {
    const data = typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer)
    bytes += typeof data === 'string' ? data.length : data.byteLength
    if (client) client.send(data)
    else pending.push(data)
  }
  upstream.onclose = (e: CloseEvent) => {
    client?.close(sendableCode(e.code), e.reason.slice(0, 120))
    finish()
  }
  upstream.onerror = () => {}
  const answer = ctx.upgrade(
    {
      open(ws) {
        client = ws
        for (const data of pending.splice(0)) ws.send(data)
      },
      message(_ws, data) {
        if (upstream.readyState === WebSocket.OPEN) upstream.send(data)
      },
      close(_ws, code) {
        if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.close(sendableCode(code))
        finish()
      },
    },
    upstream.protocol || undefined,
  )
  if (answer === null) {
    upstream.close(1000)
    return new Response('Expected a WebSocket upgrade', { status: 400 })
  }
  o.ended?.addEventListener('abort', () => {
    client?.close(SESSION_ENDED, 'session ended')
    if (upstream.readyState === WebSocket.OPEN) upstream.close(1000)
  }, { once: true })
  return answer
}

function openUpstream(o: WebSocketProxyOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    for (const [k, v] of o.headers) headers[k] = v
    let ws: WebSocket
    try {
      // Note: the options form (headers, protocols) is Bun's and Deno's, not the browser's.
      ws = new (WebSocket as unknown as new (url: string, init: unknown) => WebSocket)(o.url, { headers, protocols: o.protocols })
    } catch (err) {
      reject(new UpstreamError('failed', `the app's WebSocket address is not valid (${(err as Error).message})`))
      return
    }
    ws.binaryType = 'arraybuffer'
    const timer = setTimeout(() => {
      ws.close()
      reject(new UpstreamError('timeout', `the app did not accept the WebSocket within ${Math.round(o.timeoutMs / 1000)} s`))
    }, o.timeoutMs)
    ws.onopen = () => {
      clearTimeout(timer)
      resolve(ws)
    }
    ws.onerror = () => {
      clearTimeout(timer)
      reject(new UpstreamError('failed', 'the app refused the WebSocket (is it running, and does this path accept WebSockets?)'))
    }
  })
}
