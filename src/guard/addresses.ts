/** Address and header facts the guard relies on, each rule in one place. */
import type { Connection } from './connection.ts'

/**
 * The address with an IPv4-mapped `::ffff:` prefix removed and IPv6 lower-cased. A plain
 * IPv4 address (the common case, checked on every request) is returned as it is.
 */
function plainAddress(address: string): string {
  if (!address.includes(':')) return address
  const a = address.toLowerCase()
  return a.startsWith('::ffff:') ? a.slice(7) : a
}

/** 127.0.0.0/8, ::1, and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string): boolean {
  const a = plainAddress(address)
  return a === '::1' || (a.startsWith('127.') && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a))
}

/** RFC 1918 private IPv4 (10/8, 172.16/12, 192.168/16), also IPv4-mapped. */
export function isPrivateAddress(address: string): boolean {
  const a = plainAddress(address)
  const m = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(a)
  if (!m) return false
  const [x, y] = [Number(m[1]), Number(m[2])]
  return x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168)
}

/** Tailscale's CGNAT range 100.64.0.0/10 and its ULA fd7a:115c:a1e0::/48. */
export function isTailnetAddress(address: string): boolean {
  const a = plainAddress(address)
  const m = /^100\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(a)
  if (m) return Number(m[1]) >= 64 && Number(m[1]) <= 127
  return a.startsWith('fd7a:115c:a1e0:')
}

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
