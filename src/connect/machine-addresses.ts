/**
 * This machine's addresses as a person choosing one for a phone needs to see them: each with
 * its interface and what kind of network it is on, and which interface holds the default
 * route (the one a phone on the same LAN most likely reaches).
 */
import { readFileSync } from 'node:fs'
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { isLoopbackAddress, isPrivateAddress, isTailnetAddress } from '../net/ip.ts'

/**
 * - `lan`: a private address (RFC 1918, or an IPv6 unique local one) on an ordinary interface;
 * - `tailnet`: Tailscale's 100.64.0.0/10 or fd7a:115c:a1e0::/48;
 * - `container`: a bridge to containers or VMs (docker0, br-…, veth…, podman…, virbr…, cni…);
 * - `public`: anything else, reachable from the internet if nothing filters it.
 */
export type AddressKind = 'lan' | 'tailnet' | 'container' | 'public'

export interface MachineAddress {
  address: string
  family: 'IPv4' | 'IPv6'
  interface: string
  kind: AddressKind
  /** The interface holds the default route. */
  defaultRoute: boolean
}

const BRIDGE = /^(docker\d*|br-|veth|podman|cni|virbr|lxcbr|lxdbr|flannel|cali|vxlan|weave|kube-bridge)/

function kindOf(address: string, iface: string): AddressKind {
  if (isTailnetAddress(address)) return 'tailnet'
  if (BRIDGE.test(iface)) return 'container'
  if (isPrivateAddress(address) || /^f[cd][0-9a-f]{2}:/i.test(address)) return 'lan'
  return 'public'
}

/**
 * The interface of the default route, from the kernel's routing table (Linux: the row of
 * /proc/net/route whose destination is 0.0.0.0), or null where there is none to read.
 */
export function defaultRouteInterface(read: () => string = () => readFileSync('/proc/net/route', 'utf8')): string | null {
  let table: string
  try {
    table = read()
  } catch {
    return null
  }
  for (const line of table.split('\n').slice(1)) {
    const [iface, destination, , , , , metric] = line.trim().split(/\s+/)
    if (destination === '00000000' && iface && metric !== undefined) return iface
  }
  return null
}

/**
 * Every address a phone could use: not loopback, not IPv6 link-local (which needs a zone
 * a URL cannot carry). The default route's interface first, then tailnet, LAN, container
 * bridges and public addresses; IPv4 before IPv6 within each.
 */
export function machineAddresses(
  interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces,
  routeInterface: () => string | null = defaultRouteInterface,
): MachineAddress[] {
  const route = routeInterface()
  const out: MachineAddress[] = []
  for (const [name, list] of Object.entries(interfaces())) {
    for (const info of list ?? []) {
      if (info.internal || isLoopbackAddress(info.address) || /^fe80:/i.test(info.address)) continue
      const family = info.family === 'IPv6' ? 'IPv6' : 'IPv4'
      out.push({ address: info.address, family, interface: name, kind: kindOf(info.address, name), defaultRoute: name === route })
    }
  }
  const rank = (a: MachineAddress) => (a.defaultRoute ? 0 : 1 + ['tailnet', 'lan', 'container', 'public'].indexOf(a.kind)) * 2 + (a.family === 'IPv4' ? 0 : 1)
  return out.sort((a, b) => rank(a) - rank(b))
}
