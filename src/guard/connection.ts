/**
 * What latchkey knows about the connection a request arrived on: which listener, and the
 * TCP peer as the socket reports it. The dispatcher records it; the guard reads it.
 */
import type { PeerInfo } from '../runtime/index.ts'
import { requestState } from './request-state.ts'
import { forwardedProto } from './addresses.ts'

export type ListenerKind = 'dashboard' | 'api' | 'tailscale-ingress' | 'cloudflare-ingress' | 'app'

export interface Connection {
  listener: ListenerKind
  peer: PeerInfo | null
  /** The port this listener is bound to. */
  localPort: number
  /** For app listeners: the app's name. */
  app?: string
  /** The peer is a proxy the operator listed in `--trusted-proxies`. */
  viaTrustedProxy?: boolean
}

export function recordConnection(request: Request, conn: Connection): void {
  requestState(request).conn = conn
}

/** The connection of a request that came through a latchkey listener. */
export function connectionOf(request: Request): Connection | undefined {
  return requestState(request).conn
}

export function isTunnelIngress(conn: Connection): boolean {
  return conn.listener === 'tailscale-ingress' || conn.listener === 'cloudflare-ingress'
}

/**
 * Whether the client reached latchkey over https. latchkey itself serves plain http, so
 * only a tunnel or a trusted proxy in front of it can say so; anyone else's say-so is ignored.
 */
export function isSecure(request: Request, conn: Connection): boolean {
  if (request.url.startsWith('https:')) return true
  return (isTunnelIngress(conn) || conn.viaTrustedProxy === true) && forwardedProto(request.headers) === 'https'
}
