/**
 * A real upstream app for the apps tests, on 127.0.0.1 port 0. It records every request it
 * receives (method, path, headers), so a test can check what latchkey forwarded, and
 * serves the shapes a proxy must carry: echo, streamed download and upload, SSE, redirects
 * with cookies, a WebSocket echo, and a response that never comes.
 */
export interface Received {
  method: string
  path: string
  headers: Record<string, string>
}

export interface Upstream {
  port: number
  url: string
  received: Received[]
  /** Paths of requests whose sender went away before the answer (only /hang waits that long). */
  abandoned: string[]
  stop(): Promise<void>
}

const CHUNK = new Uint8Array(256 * 1024).fill(120)

export function startUpstream(): Upstream {
  const received: Received[] = []
  const abandoned: string[] = []
  const server: ReturnType<typeof Bun.serve> = Bun.serve<{ path: string }, never>({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1024 * 1024 * 1024,
    idleTimeout: 60,
    async fetch(req, srv): Promise<Response | undefined> {
      const url = new URL(req.url)
      received.push({ method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers) })
      // Like an app with a base-path setting: it serves the same routes under /apps/<name>.
      switch (url.pathname.replace(/^\/apps\/[a-z0-9-]+/, '')) {
        case '/ws':
          if (srv.upgrade(req, { data: { path: url.pathname } })) return undefined
          return new Response('expected websocket', { status: 400 })
        case '/download': {
          let left = Number(url.searchParams.get('mb') ?? '1') * 1024 * 1024
          return new Response(new ReadableStream({
            pull(c) {
              if (left <= 0) return c.close()
              const n = Math.min(left, CHUNK.length)
              left -= n
              c.enqueue(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))
            },
          }, { highWaterMark: 0 }), { headers: { 'content-type': 'application/octet-stream' } })
        }
        case '/upload': {
          let bytes = 0
          for await (const chunk of req.body! as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength
          return Response.json({ bytes })
        }
        case '/sse': {
          const count = Number(url.searchParams.get('n') ?? '5')
          const gap = Number(url.searchParams.get('gap') ?? '300')
          let i = 0
          return new Response(new ReadableStream({
            async pull(c) {
              if (i > 0) await Bun.sleep(gap)
              if (i >= count) return c.close()
              c.enqueue(new TextEncoder().encode(`id: ${i}\ndata: event ${i}\n\n`))
              i++
            },
          }, { highWaterMark: 0 }), { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } })
        }
        case '/redirect':
          return new Response(null, {
            status: 302,
            headers: [['location', `http://127.0.0.1:${server.port}/landed?x=1`], ['set-cookie', 'app_sid=abc; Path=/; HttpOnly'], ['set-cookie', 'latchkey_session=evil; Path=/']],
          })
        case '/hang':
          req.signal.addEventListener('abort', () => abandoned.push(url.pathname + url.search))
          await Bun.sleep(60_000)
          return new Response('late')
        default:
          return Response.json({ method: req.method, path: url.pathname, search: url.search })
      }
    },
    websocket: {
      message(ws, message) {
        // Echo, marking text so the test can tell the direction happened.
        if (typeof message === 'string') ws.send(`echo:${message}`)
        else ws.send(new Uint8Array(message).map((b) => b ^ 0xff))
      },
    },
  })
  return {
    port: server.port!,
    url: `http://127.0.0.1:${server.port}`,
    received,
    abandoned,
    async stop() {
      await server.stop(true)
    },
  }
}
