import { describe, expect, it } from 'bun:test'
import { OriginPolicy } from '../../../src/guard/origins.ts'

const ports = () => [3000, 8000]

describe('OriginPolicy', () => {
  it('allows a bare host on latchkey\'s own ports only, host:port and full origins exactly', () => {
    const p = new OriginPolicy(['laptop.ts.net', '192.168.1.42:3001', 'https://phone.example:8443'], { host: '127.0.0.1', ports })
    expect(p.allows('http://laptop.ts.net:3000')).toBe(true)
    expect(p.allows('http://laptop.ts.net:8000')).toBe(true)
    expect(p.allows('http://192.168.1.42:3001')).toBe(true)
    expect(p.allows('https://192.168.1.42:3001')).toBe(true)
    expect(p.allows('https://phone.example:8443')).toBe(true)
    expect(p.allows('http://phone.example:8443')).toBe(false)
    expect(p.allows('http://laptop.ts.net.evil.example')).toBe(false)
    expect(p.allows('null')).toBe(false)
    expect(p.allows('http://localhost:3000')).toBe(true)
  })

  it('refuses a bare host on any other port: an app listener, another server, the default ports', () => {
    const p = new OriginPolicy(['192.168.1.42'], { host: '10.0.0.5', ports })
    for (const o of ['http://192.168.1.42:31337', 'http://192.168.1.42', 'https://192.168.1.42', 'http://192.168.1.42:3002', 'http://10.0.0.5:4000', 'http://localhost:5173', 'http://127.0.0.1:8888']) {
      expect([o, p.allows(o)]).toEqual([o, false])
    }
    expect(p.allows('http://192.168.1.42:3000')).toBe(true)
    expect(p.allows('http://10.0.0.5:8000')).toBe(true)
    // A bare host over https on latchkey's port is not latchkey (it serves plain http there).
    expect(p.allows('https://192.168.1.42:3000')).toBe(false)
  })

  it('reads the ports on every check, so a port bound late (port 0) counts', () => {
    let bound: number[] = []
    const p = new OriginPolicy([], { host: '127.0.0.1', ports: () => bound })
    expect(p.allows('http://localhost:41000')).toBe(false)
    bound = [41000]
    expect(p.allows('http://localhost:41000')).toBe(true)
  })

  it('allows a live origin (a running tunnel) only while it is live', () => {
    let live: string[] = []
    const p = new OriginPolicy([], { host: '127.0.0.1', ports, live: () => live })
    expect(p.allows('https://willow-nectar.trycloudflare.com')).toBe(false)
    live = ['https://willow-nectar.trycloudflare.com']
    expect(p.allows('https://willow-nectar.trycloudflare.com')).toBe(true)
    live = []
    expect(p.allows('https://willow-nectar.trycloudflare.com')).toBe(false)
  })

  it('adds a concrete --host but not a wildcard', () => {
    expect(new OriginPolicy([], { host: '192.168.1.10', ports }).allows('http://192.168.1.10:3000')).toBe(true)
    expect(new OriginPolicy([], { host: '192.168.1.10', ports }).allows('http://192.168.1.10:3100')).toBe(false)
    expect(new OriginPolicy([], { host: '0.0.0.0', ports }).allows('http://0.0.0.0:3000')).toBe(false)
  })
})
