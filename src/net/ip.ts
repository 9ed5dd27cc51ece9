/** What kind of address a peer is: loopback, private, tailnet. Pure functions, no I/O. */

/**
 * The address with an IPv4-mapped `::ffff:` prefix removed and IPv6 lower-cased. A plain
 * IPv4 address (the common case, checked on every request) is returned as it is.
 */
export function plainAddress(address: string): string {
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
 * The key a client address is counted under (guess limits, devices per address): IPv4 as
 * is, IPv6 by its /64, since one host usually holds a whole /64 and could otherwise take a
 * fresh address for every guess.
 */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address // IPv4: the common case, kept cheap (every request)
  const a = address.toLowerCase().replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  if (!a.includes(':') || a.startsWith('::ffff:')) return a.replace(/^::ffff:/, '')
  const [left, right = ''] = a.split('::')
  const head = left ? left.split(':') : []
  const tail = a.includes('::') ? (right ? right.split(':') : []) : []
  const groups = [...head, ...Array(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail]
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64'
}
