/**
 * The address a phone should use (token-guard reference, "Allowed origins configuration"):
 * an explicit non-wildcard --host, else the first --allowed-origins entry, else the primary
 * non-internal IPv4; else none, and the user types the token.
 */
import { networkInterfaces } from 'node:os'
import { isLoopbackAddress } from '../net/ip.ts'

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', ''])

export function isWildcard(host: string): boolean {
  return WILDCARDS.has(host)
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host.replace(/^\[|\]$/g, ''))
}

/** Remote access is on when latchkey listens anywhere but loopback. */
export function remoteAccessOn(host: string): boolean {
  return !isLoopbackHost(host)
}

export interface ConnectAddress {
  address: string
  source: 'host' | 'allowed-origins' | 'interface'
}

export function primaryIPv4(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address
  }
  return null
}

export function chooseConnectAddress(host: string, allowedOrigins: readonly string[], detect: () => string | null = primaryIPv4): ConnectAddress | null {
  if (!isWildcard(host) && !isLoopbackHost(host)) return { address: host, source: 'host' }
  if (isLoopbackHost(host)) return null
  for (const raw of allowedOrigins) {
    const e = raw.trim()
    if (!e) continue
    try {
      const hostname = /^https?:\/\//.test(e) ? new URL(e).hostname : e.replace(/:\d+$/, '')
      if (hostname) return { address: hostname.replace(/^\[|\]$/g, ''), source: 'allowed-origins' }
    } catch {}
  }
  const ip = detect()
  return ip ? { address: ip, source: 'interface' } : null
}

/** `http://<address>:<port>/?token=<token>`, with IPv6 bracketed. */
export function connectLink(address: string, port: number, token: string | null): string {
  const host = address.includes(':') ? `[${address}]` : address
  return `http://${host}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`
}
