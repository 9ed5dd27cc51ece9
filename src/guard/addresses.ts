/** Address and header facts the guard relies on, each rule in one place. */
import type { Connection } from './connection.ts'

/**
 * Headers that say "a proxy relayed this" or claim an identity. A request carrying any of
 * them never gets the loopback exemption (DESIGN.md, "One guard"), unless its peer is a
 * proxy the operator listed as trusted.
 */
export function hasForwardingHeaders(headers: Headers): boolean {
  for (const name of headers.keys()) {
    if (
      name === 'forwarded' ||
      name === 'x-real-ip' ||
      name === 'true-client-ip' ||
      name === 'cf-connecting-ip' ||
      name.startsWith('x-forwarded-') ||
      name.startsWith('tailscale-') ||
      name.startsWith('cf-') ||
      name.startsWith('x-latchkey-')
    ) {
      return true
    }
  }
  return false
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * The Host header names this machine: exactly one value, `localhost`, `127.0.0.1` or
 * `[::1]`, with no port or the listener's own port. Rebinding names fail here.
 */
export function hostIsLocal(host: string | null, localPort: number): boolean {
  if (!host || host.includes(',') || host.includes(' ')) return false
  const m = /^(localhost|127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?$/i.exec(host)
  if (!m || !LOCAL_HOSTS.has(m[1].toLowerCase())) return false
  return m[2] === undefined || Number(m[2]) === localPort
}

/**
 * The client address to account a request to (rate limits, logs): the peer, or for tunnel
 * ingress the address the tunnel reports (cloudflared: Cf-Connecting-Ip; tailscaled:
 * X-Forwarded-For, whose client copies it strips — facts §5, §6), or for a trusted proxy the
 * last X-Forwarded-For hop.
 */
export function clientAddress(headers: Headers, conn: Connection, trustedProxies: readonly string[]): string {
  const peer = conn.peer?.address ?? 'unknown'
  const lastXff = () => headers.get('x-forwarded-for')?.split(',').pop()?.trim() || undefined
  if (conn.listener === 'cloudflare-ingress') return headers.get('cf-connecting-ip')?.trim() || `cloudflare-ingress`
  if (conn.listener === 'tailscale-ingress') return lastXff() ?? 'tailscale-ingress'
  if (trustedProxies.includes(peer)) return lastXff() ?? peer
  return peer
}
