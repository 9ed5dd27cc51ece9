/**
 * Every listener latchkey opens, created in one place: dashboard, API, and one tunnel
 * ingress per provider on 127.0.0.1 (tunnels never point at the dashboard or API
 * listener, so their traffic never inherits the loopback exemption).
 */
import { runtime, type ServerHandle } from '../runtime/index.ts'
import type { ListenerKind } from '../guard/connection.ts'
import type { createDispatcher } from './dispatch.ts'

/** API bodies are small JSON; apps may stream large uploads. */
export const API_BODY_LIMIT = 1024 * 1024
const APP_BODY_LIMIT = 64 * 1024 * 1024 * 1024
const IDLE_TIMEOUT_SEC = 30

export interface Listeners {
  dashboard: ServerHandle | null
  api: ServerHandle
  tailscaleIngress: ServerHandle
  cloudflareIngress: ServerHandle
  stop(): Promise<void>
}

type HandlerFor = ReturnType<typeof createDispatcher>

export async function listen(kind: ListenerKind, hostname: string, port: number, handlerFor: HandlerFor, app?: string): Promise<ServerHandle> {
  let bound = port
  const handle = await runtime.serve({
    hostname,
    port,
    maxRequestBodySize: kind === 'app' || kind === 'dashboard' || kind.endsWith('-ingress') ? APP_BODY_LIMIT : API_BODY_LIMIT,
    idleTimeout: IDLE_TIMEOUT_SEC,
    fetch: handlerFor(kind, () => bound, app),
  })
  bound = handle.port
  return handle
}

/** How the apps service opens a port-mode app's listener (same host as the dashboard). */
export function appListenerOpener(hostname: string, handlerFor: () => HandlerFor) {
  return (port: number, app: string): Promise<ServerHandle> => listen('app', hostname, port, handlerFor(), app)
}

/** Open the core listeners; a port in use fails with a message naming the flag to change. */
export async function startListeners(opts: { host: string; port: number; apiPort: number; cloudflareIngressPort: number; headless: boolean; handlerFor: HandlerFor }): Promise<Listeners> {
  const open = async (kind: ListenerKind, host: string, port: number, flag: string) => {
    try {
      return await listen(kind, host, port, opts.handlerFor)
    } catch (err: any) {
      const code = err?.code ?? ''
      const why = code === 'EADDRINUSE' || /in use/i.test(String(err?.message)) ? 'is already in use' : code === 'EADDRNOTAVAIL' || /not available|cannot assign/i.test(String(err?.message)) ? 'is not an address of this machine' : `cannot be opened (${err?.message ?? err})`
      // Exit 1, a runtime failure, not 2 (configuration errors): a port in use, or an address not
      // up yet at boot (a tailnet IP before tailscaled), can clear on its own, and systemd
      // restarts on 1 but not on 2 (RestartPreventExitStatus=2 in the unit).
      throw Object.assign(new Error(`Cannot listen on ${host}:${port}: the ${code === 'EADDRNOTAVAIL' ? 'address' : 'port'} ${why} (choose another with ${flag})`), { exitCode: 1 })
    }
  }
  const started: ServerHandle[] = []
  try {
    const dashboard = opts.headless ? null : await open('dashboard', opts.host, opts.port, '--port')
    if (dashboard) started.push(dashboard)
    const api = await open('api', opts.host, opts.apiPort, '--api-port')
    started.push(api)
    const tailscaleIngress = await open('tailscale-ingress', '127.0.0.1', 0, '--host')
    started.push(tailscaleIngress)
    const cloudflareIngress = await open('cloudflare-ingress', '127.0.0.1', opts.cloudflareIngressPort, '--cloudflare-ingress-port')
    started.push(cloudflareIngress)
    return {
      dashboard,
      api,
      tailscaleIngress,
      cloudflareIngress,
      async stop() {
        await Promise.allSettled(started.map((s) => s.stop()))
      },
    }
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()))
    throw err
  }
}
