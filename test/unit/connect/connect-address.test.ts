/** The QR's address: this machine's addresses by kind, the default route, and the order of candidates. */
import { describe, expect, it } from 'bun:test'
import type { NetworkInterfaceInfo } from 'node:os'
import { connectCandidates, chooseConnectAddress } from '../../../src/connect/connect-address.ts'
import { defaultRouteInterface, machineAddresses } from '../../../src/connect/machine-addresses.ts'

const info = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null }) as unknown as NetworkInterfaceInfo
const interfaces = () => ({
  lo: [info('127.0.0.1', 'IPv4', true), info('::1', 'IPv6', true)],
  docker0: [info('172.17.0.1')],
  wlan0: [info('192.168.1.20'), info('fe80::1', 'IPv6'), info('2001:db8::20', 'IPv6')],
  tailscale0: [info('100.101.102.103'), info('fd7a:115c:a1e0::1', 'IPv6')],
  eth1: [info('203.0.113.7')],
})
const addresses = () => machineAddresses(interfaces, () => 'wlan0')
const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
`

describe('machineAddresses', () => {
  it('names each address\'s interface and kind, skipping loopback and link-local, default route first', () => {
    expect(addresses().map((a) => `${a.address} ${a.interface} ${a.kind}${a.defaultRoute ? ' route' : ''}`)).toEqual([
      '192.168.1.20 wlan0 lan route',
      '2001:db8::20 wlan0 public route',
      '100.101.102.103 tailscale0 tailnet',
      'fd7a:115c:a1e0::1 tailscale0 tailnet',
      '172.17.0.1 docker0 container',
      '203.0.113.7 eth1 public',
    ])
  })

  it('reads the default route\'s interface from the kernel routing table', () => {
    expect(defaultRouteInterface(() => ROUTE)).toBe('wlan0')
    expect(defaultRouteInterface(() => 'Iface\tDestination\n')).toBeNull()
    expect(defaultRouteInterface(() => { throw new Error('no /proc') })).toBeNull()
  })
})

describe('connectCandidates', () => {
  it('prefers --host, then allowed origins, then opened addresses, then the tailnet, then the default route', () => {
    const list = (host: string, origins: string[] = [], opened: string[] = []) => connectCandidates(host, origins, opened, addresses).map((c) => `${c.address}:${c.source}`)
    expect(list('192.168.1.20')).toEqual(['192.168.1.20:host'])
    expect(list('0.0.0.0', ['box.example', 'https://phone.example:8443'])).toEqual([
      'box.example:allowed-origins',
      'phone.example:allowed-origins',
      '100.101.102.103:tailnet',
      'fd7a:115c:a1e0::1:tailnet',
      '192.168.1.20:default-route',
      '2001:db8::20:default-route',
      '172.17.0.1:interface',
      '203.0.113.7:interface',
    ])
    expect(list('0.0.0.0')[0]).toBe('100.101.102.103:tailnet')
  })

  it('offers a loopback-only latchkey nothing but what was opened, with its interface and kind', () => {
    expect(connectCandidates('127.0.0.1', ['box.example'], [], addresses)).toEqual([])
    expect(chooseConnectAddress('127.0.0.1', [], ['192.168.1.20'], addresses)).toEqual({ address: '192.168.1.20', source: 'opened', interface: 'wlan0', kind: 'lan' })
  })
})
