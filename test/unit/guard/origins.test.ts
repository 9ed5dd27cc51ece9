import { describe, expect, it } from 'bun:test'
import { OriginPolicy } from '../../../src/guard/origins.ts'

describe('OriginPolicy', () => {
  it('matches hostnames on any port, host:port and full origins exactly', () => {
    const p = new OriginPolicy(['laptop.ts.net', '192.168.1.42:3000', 'https://phone.example:8443'], { host: '127.0.0.1', dashboardPort: 3000 })
    expect(p.allows('http://laptop.ts.net:3000')).toBe(true)
    expect(p.allows('https://laptop.ts.net')).toBe(true)
    expect(p.allows('http://192.168.1.42:3000')).toBe(true)
    expect(p.allows('http://192.168.1.42:3001')).toBe(false)
    expect(p.allows('https://phone.example:8443')).toBe(true)
    expect(p.allows('http://phone.example:8443')).toBe(false)
    expect(p.allows('http://laptop.ts.net.evil.example')).toBe(false)
    expect(p.allows('null')).toBe(false)
    expect(p.allows('http://localhost:3000')).toBe(true)
  })

  it('allows a live origin (a running tunnel) only while it is live', () => {
    let live: string[] = []
    const p = new OriginPolicy([], { host: '127.0.0.1', dashboardPort: 3000, live: () => live })
    expect(p.allows('https://willow-nectar.trycloudflare.com')).toBe(false)
    live = ['https://willow-nectar.trycloudflare.com']
    expect(p.allows('https://willow-nectar.trycloudflare.com')).toBe(true)
    live = []
    expect(p.allows('https://willow-nectar.trycloudflare.com')).toBe(false)
  })

  it('adds a concrete --host but not a wildcard', () => {
    expect(new OriginPolicy([], { host: '192.168.1.10', dashboardPort: 3000 }).allows('http://192.168.1.10:3000')).toBe(true)
    expect(new OriginPolicy([], { host: '0.0.0.0', dashboardPort: 3000 }).allows('http://0.0.0.0:3000')).toBe(false)
  })
})
