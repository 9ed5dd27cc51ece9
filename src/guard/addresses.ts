/** Address and header facts the guard relies on, each rule in one place. */
import type { Connection } from './connection.ts'
import { plainAddress } from '../net/ip.ts'

/**
 * Headers that say "a proxy relayed this" or claim who sent it. The proxy deletes client
 * copies of these before an app sees the request (apps/proxy-headers.ts).
 */
export function isForwardingHeader(name: string): boolean {
  return (
    name === 'forwarded' ||
    name === 'via' ||
    name === 'x-real-ip' ||
    name === 'true-client-ip' ||
    name === 'x-client-ip' ||
    name === 'client-ip' ||
    name === 'x-cluster-client-ip' ||
    name === 'fastly-client-ip' ||
    name === 'cf-connecting-ip' ||
    name.startsWith('x-forwarded-') ||
    name.startsWith('x-original-forwarded') ||
    name.startsWith('tailscale-') ||
    name.startsWith('x-latchkey-')
  )
}

/**
 * Whether a request carries any header a proxy, a tunnel or an identity service adds
 * (`Cf-*` included: only Cloudflare's edge sends those). Such a request never gets the
 * loopback exemption (DESIGN.md, "One guard").
 */
export function hasForwardingHeaders(headers: Headers): boolean {
  for (const name of headers.keys()) if (isForwardingHeader(name) || name.startsWith('cf-')) return true
  return false
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * The Host header names this machine: exactly one value whose hostname is `localhost`,
 * `127.0.0.1` or `[::1]`, with any port or none. DNS rebinding is stopped by the hostname
 * alone (an attacker's name never reads `localhost`); the port says nothing, since any
 * forwarding changes it (`ssh -L 8080:127.0.0.1:3000` sends `Host: localhost:8080`).
 */
export function hostIsLocal(host: string | null): boolean {
  if (!host || host.includes(',') || host.includes(' ')) return false
  const m = /^(localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i.exec(host)
  return m !== null && LOCAL_HOSTS.has(m[1].toLowerCase())
}

/** Whether `peer` is a proxy the operator listed in `--trusted-proxies` (exact address). */
export function isTrustedProxy(peer: string, trustedProxies: readonly string[]): boolean {
  if (trustedProxies.length === 0) return false
  const p = plainAddress(peer)
  return trustedProxies.some((t) => plainAddress(t.trim()) === p)
}

/**
 * One `for=` or X-Forwarded-For entry as an address: quotes, brackets and a port removed
 * (RFC 7239 §6: `"[2001:db8::1]:4711"`, `192.0.2.43:47011`). Obfuscated or `unknown`
 * nodes are `unknown`.
 */
function entryAddress(raw: string): string {
  let a = raw.trim().replace(/^"|"$/g, '')
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::\d+)?$/.exec(a)
  if (v6) return v6[1].toLowerCase()
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(a)
  if (v4) return v4[1]
  a = a.toLowerCase()
  return /^[0-9a-f:.]+$/.test(a) && a.includes(':') ? a : 'unknown'
}

/** The client chain a trusted proxy reports, left (first client) to right (last hop). */
function forwardedChain(headers: Headers): string[] {
  const xff = headers.get('x-forwarded-for')
  if (xff !== null) return xff.split(',').filter((e) => e.trim()).map(entryAddress)
  const forwarded = headers.get('forwarded')
  if (forwarded === null) return []
  const chain: string[] = []
  // RFC 7239 §4: elements separated by commas, pairs by semicolons.
  for (const element of forwarded.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=')
      if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === 'for') chain.push(entryAddress(pair.slice(eq + 1)))
    }
  }
  return chain
}

/**
 * The client a trusted proxy names: the right-most address of X-Forwarded-For (else of
 * `Forwarded: for=`) that is not itself a trusted proxy. Entries to its left were written
 * by the client and prove nothing. Null when the proxy names no client.
 */
export function forwardedClient(headers: Headers, trustedProxies: readonly string[]): string | null {
  const chain = forwardedChain(headers)
  for (let i = chain.length - 1; i >= 0; i--) if (!isTrustedProxy(chain[i], trustedProxies)) return chain[i]
  return chain[0] ?? null
}

/**
 * The client address to account a request to (rate limits, logs, devices): the peer; for
 * tunnel ingress the address the tunnel reports (cloudflared: Cf-Connecting-Ip; tailscaled:
 * X-Forwarded-For, whose client copies it strips — facts §5, §6); for a trusted proxy the
 * client it names (forwardedClient), or the proxy itself when it names none.
 */
export function clientAddress(headers: Headers, conn: Connection, trustedProxies: readonly string[]): string {
  const peer = conn.peer?.address ?? 'unknown'
  if (conn.listener === 'cloudflare-ingress') return headers.get('cf-connecting-ip')?.trim() || `cloudflare-ingress`
  if (conn.listener === 'tailscale-ingress') return headers.get('x-forwarded-for')?.split(',').pop()?.trim() || 'tailscale-ingress'
  if (isTrustedProxy(peer, trustedProxies)) return forwardedClient(headers, trustedProxies) ?? peer
  return peer
}

/** The scheme a proxy or tunnel says the client used (X-Forwarded-Proto, else `Forwarded: proto=`). */
export function forwardedProto(headers: Headers): string | null {
  const xfp = headers.get('x-forwarded-proto')
  if (xfp !== null) return xfp.split(',')[0].trim().toLowerCase()
  const m = /(?:^|[;,\s])proto=("?)(https?)\1/i.exec(headers.get('forwarded') ?? '')
  return m ? m[2].toLowerCase() : null
}
