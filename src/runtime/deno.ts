import type { Runtime, ServeOptions, ServerHandle, ServerSocket } from './types.ts'
import { countingStream } from './portable.ts'

// Deno's globals are untyped under bun-types; declare the little we use.
declare const Deno: any

// No `connect`: the app proxy sends every request with fetch() on Deno. A pooled raw-socket
// client there would go through Deno.connect's promise-per-read streams, which gain little
// over Deno's own fetch (hyper, pooled in Rust); Bun's fetch is the one worth bypassing.
export const denoRuntime: Runtime = {
  name: 'deno',
  version: Deno.version.deno,
  countingStream,
  async serve(options: ServeOptions): Promise<ServerHandle> {
    const server = Deno.serve(
      { hostname: options.hostname, port: options.port, onListen() {} },
      (request: Request, info: any) => {
        const addr = info.remoteAddr
        return options.fetch(request, {
          peer: addr && 'hostname' in addr ? { address: addr.hostname, port: addr.port } : null,
          upgrade(handlers, protocol) {
            if ((request.headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') return null
            const { socket, response } = Deno.upgradeWebSocket(request, protocol ? { protocol } : {})
            socket.binaryType = 'arraybuffer'
            const ws: ServerSocket = {
              send: (data) => socket.send(data),
              close: (code, reason) => socket.close(code, reason),
              get bufferedAmount() {
                return socket.bufferedAmount
              },
            }
            socket.onopen = () => handlers.open?.(ws)
            socket.onmessage = (e: MessageEvent) =>
              handlers.message?.(ws, typeof e.data === 'string' ? e.data : new Uint8Array(e.data))
            socket.onclose = (e: CloseEvent) => handlers.close?.(ws, e.code, e.reason)
            return response
          },
          // Deno.serve keeps no idle timer on a request that is waiting for its response.
          allowSilence() {},
        })
      },
    )
    await new Promise((r) => setTimeout(r, 0))
    return {
      hostname: options.hostname,
      port: server.addr.port,
      async stop() {
        await server.shutdown()
      },
    }
  },
}
