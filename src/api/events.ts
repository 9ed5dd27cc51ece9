/**
 * GET /api/remote/events: the remote status (runbook §2.3, the body of GET /api/remote/status,
 * the last config reload included) as Server-Sent Events, so the dashboard shows `starting`
 * … `running`, and a reload's outcome, without polling.
 * One `status` event at once, then one whenever the status changes; a comment line every
 * 15 s keeps the stream inside the listeners' idle timeout (DESIGN.md: keep timeouts on,
 * with heartbeats for streams). SSE format: https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { remoteStatus } from './remote.ts'

export const HEARTBEAT_MS = 15_000

interface StatusSource {
  status(): Promise<unknown>
  onChange(listener: () => void): () => void
}

/** A text/event-stream of `status` events that ends when the client goes away. */
export function statusStream(tunnels: StatusSource, signal?: AbortSignal, heartbeatMs = HEARTBEAT_MS): Response {
  const encoder = new TextEncoder()
  let cleanup = () => {}
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false
      let last = ''
      // Status reads are serialized, and an unchanged status is not sent twice.
      let queue: Promise<void> = Promise.resolve()
      const write = (text: string) => {
        if (closed) return
        try {
          controller.enqueue(encoder.encode(text))
        } catch {
          cleanup()
        }
      }
      const push = () => {
        queue = queue.then(async () => {
          if (closed) return
          const json = JSON.stringify(await tunnels.status().catch(() => null))
          if (json === 'null' || json === last) return
          last = json
          write(`event: status\ndata: ${json}\n\n`)
        })
      }
      const off = tunnels.onChange(push)
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs)
      cleanup = () => {
        if (closed) return
        closed = true
        off()
        clearInterval(heartbeat)
        try {
          controller.close()
        } catch {}
      }
      signal?.addEventListener('abort', () => cleanup(), { once: true })
      // Tell EventSource how soon to reconnect, then the current status.
      write('retry: 3000\n\n')
      push()
    },
    cancel() {
      cleanup()
    },
  })
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    },
  })
}

/** The status of GET /api/remote/status, told of tunnel changes and of config reloads. */
function statusSource(services: Services): StatusSource {
  return {
    status: async () => remoteStatus(services),
    onChange(listener) {
      const offTunnel = services.tunnels.onChange(listener)
      const offReload = services.reload?.onChange(listener)
      return () => {
        offTunnel()
        offReload?.()
      }
    },
  }
}

export function eventRoutes(services: Services) {
  return new Elysia({ name: 'api.events', prefix: '/api/remote' })
    .use(guardPlugin(services.guard))
    .get('/events', ({ request }) => statusStream(statusSource(services), request.signal), { role: 'viewer' })
}
