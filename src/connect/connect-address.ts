/**
 * The addresses a phone could use to reach latchkey, best first (token-guard reference,
 * "Allowed origins configuration", and the SSH-tunnel journey issue):
 *
 * 1. an explicit, concrete `--host`;
 * 2. the `--allowed-origins` entries (names the operator chose for this machine);
 * 3. addresses the admin opened from the dashboard while latchkey runs (network-access.ts);
 * 4. with a wildcard `--host`: the tailnet address when Tailscale is up (an address in its
 *    range exists), then the interface that holds the default route, then every other
 *    address of this machine (machine-addresses.ts).
 *
 * A loopback-only latchkey offers only what the admin opened: nothing else is listening.
 */
import { isLoopbackAddress } from '../net/ip.ts'
import { machineAddresses, type AddressKind, type MachineAddress } from './machine-addresses.ts'

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', ''])

export function isWildcard(host: string): boolean {
  return WILDCARDS.has(host)
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host.replace(/^\[|\]$/g, ''))
}

/** Remote access is on when latchkey listens anywhere but loopback (its --host, or an address opened since). */
export function remoteAccessOn(host: string, opened: readonly string[] = []): boolean {
  return !isLoopbackHost(host) || opened.length > 0
}

export interface ConnectAddress {
  address: string
  source: 'host' | 'allowed-origins' | 'opened' | 'tailnet' | 'default-route' | 'interface'
  /** The interface and the kind of network, when the address is one of this machine's own. */
  interface?: string
  kind?: AddressKind
}

/** The candidates, best first (see the module comment); none when only loopback listens. */
export function connectCandidates(
  host: string,
  allowedOrigins: readonly string[],
  opened: readonly string[] = [],
  addresses: () => MachineAddress[] = machineAddresses,
): ConnectAddress[] {
  const out: ConnectAddress[] = []
  const seen = new Set<string>()
  let own: MachineAddress[] | null = null
  const ownAddresses = () => (own ??= addresses())
  const add = (address: string, source: ConnectAddress['source']) => {
    const a = address.replace(/^\[|\]$/g, '')
    if (!a || seen.has(a.toLowerCase())) return
    seen.add(a.toLowerCase())
    const mine = ownAddresses().find((m) => m.address.toLowerCase() === a.toLowerCase())
    out.push(mine ? { address: a, source, interface: mine.interface, kind: mine.kind } : { address: a, source })
  }
  const concrete = !isWildcard(host) && !isLoopbackHost(host)
  if (concrete) add(host, 'host')
  if (!isLoopbackHost(host)) for (const name of originHostnames(allowedOrigins)) add(name, 'allowed-origins')
  for (const address of opened) add(address, 'opened')
  if (isWildcard(host)) {
    for (const m of ownAddresses()) if (m.kind === 'tailnet') add(m.address, 'tailnet')
    for (const m of ownAddresses()) if (m.defaultRoute) add(m.address, 'default-route')
    for (const m of ownAddresses()) add(m.address, 'interface')
  }
  return out
}

/** The best candidate, or null (the user types the token). */
export function chooseConnectAddress(host: string, allowedOrigins: readonly string[], opened: readonly string[] = [], addresses?: () => MachineAddress[]): ConnectAddress | null {
  return connectCandidates(host, allowedOrigins, opened, addresses)[0] ?? null
}

/** The hostnames of `--allowed-origins` entries (a bare host, host:port or a full origin). */
function originHostnames(entries: readonly string[]): string[] {
  const out: string[] = []
  for (const raw of entries) {
    const e = raw.trim()
    if (!e) continue
    try {
      const hostname = /^https?:\/\//.test(e) ? new URL(e).hostname : e.replace(/:\d+$/, '')
      if (hostname) out.push(hostname)
    } catch {
      // Not a name this machine can be reached at: skipped.
    }
  }
  return out
}

/** `http://<address>:<port>/?token=<token>`, with IPv6 bracketed. */
export function connectLink(address: string, port: number, token: string | null): string {
  return `${baseUrl(address, port)}/${token ? `?token=${encodeURIComponent(token)}` : ''}`
}

/** `http://<address>:<port>`, with IPv6 bracketed. */
export function baseUrl(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`
}
