/** GuessLimiter: failed-credential budgets per client and per tunnel ingress, injected clock. */
import { describe, expect, it } from 'bun:test'
import { GuessLimiter, MAX_TRACKED, PER_CLIENT, PER_INGRESS, type Attempt } from '../../../src/guard/guess-limiter.ts'
import { clientKey } from '../../../src/net/ip.ts'
import { BoundedMap } from '../../../src/tokens/bounded-map.ts'
import type { Caller } from '../../../src/guard/identify.ts'
import type { Connection } from '../../../src/guard/connection.ts'

const remote = (address: string, ingress: string | null = null): Attempt => ({ address, local: false, ingress })

function limiter() {
  const clock = { now: 1_700_000_000_000 }
  return { clock, limiter: new GuessLimiter({ now: () => clock.now }) }
}

describe('GuessLimiter', () => {
  it('allows 10 failures a minute per address, then asks to wait until the window ends', () => {
    const { clock, limiter: l } = limiter()
    const a = remote('10.213.0.2')
    for (let i = 0; i < PER_CLIENT.limit; i++) {
      expect(l.retryAfterMs(a)).toBe(0)
      l.failed(a)
    }
    expect(l.retryAfterMs(a)).toBe(60_000)
    const err = l.refusal(l.retryAfterMs(a), a)!
    expect(err.status).toBe(429)
    expect(err.code).toBe('too_many_attempts')
    expect(err.headers['retry-after']).toBe('60')
    clock.now += 45_000
    expect(l.refusal(l.retryAfterMs(a), a)!.headers['retry-after']).toBe('15')
    // Another address is unaffected.
    expect(l.retryAfterMs(remote('10.213.0.6'))).toBe(0)
    clock.now += 15_000
    expect(l.retryAfterMs(a)).toBe(0)
    expect(l.refusal(0, a)).toBeNull()
  })

  it('never counts or locks out the local user', () => {
    const { limiter: l } = limiter()
    const local: Attempt = { address: '127.0.0.1', local: true, ingress: null }
    for (let i = 0; i < 1000; i++) l.failed(local)
    expect(l.retryAfterMs(local)).toBe(0)
    expect(l.trackedCount).toBe(0)
  })

  it('limits a tunnel ingress as a whole, whatever client addresses it reports', () => {
    const { limiter: l } = limiter()
    let n = 0
    // Each reported address stays under its own limit...
    while (n < PER_INGRESS.limit) {
      const a = remote(`203.0.113.${Math.floor(n / 5)}`, 'cloudflare-ingress')
      expect(l.retryAfterMs(a)).toBe(0)
      l.failed(a)
      n++
    }
    // ...but the ingress budget is spent: a fresh address through it must wait too,
    const fresh = remote('198.51.100.7', 'cloudflare-ingress')
    expect(l.retryAfterMs(fresh)).toBeGreaterThan(0)
    expect(l.refusal(l.retryAfterMs(fresh), fresh)!.message).toContain('through this tunnel')
    // while the same address on a direct listener, or the other ingress, is not affected.
    expect(l.retryAfterMs(remote('198.51.100.7'))).toBe(0)
    expect(l.retryAfterMs(remote('198.51.100.7', 'tailscale-ingress'))).toBe(0)
  })

  it('counts IPv6 clients by their /64', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64')
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1')
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    const { limiter: l } = limiter()
    for (let i = 0; i < PER_CLIENT.limit; i++) l.failed(remote(`2001:db8:1:2::${i + 1}`))
    expect(l.retryAfterMs(remote('2001:db8:1:2::ffff'))).toBeGreaterThan(0)
    expect(l.retryAfterMs(remote('2001:db8:1:3::1'))).toBe(0)
  })

  it('keeps memory bounded when failures come from very many addresses', () => {
    const { limiter: l } = limiter()
    for (let i = 0; i < MAX_TRACKED + 5000; i++) l.failed(remote(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`))
    expect(l.trackedCount).toBe(MAX_TRACKED)
  })

  it('accounts each request once: wrong guesses only, loopback exempt, a valid credential never refused', () => {
    const { limiter: l } = limiter()
    const conn: Connection = { listener: 'dashboard', peer: { address: '10.213.0.2', port: 5000 }, localPort: 3000 }
    const caller = (failedCredential: boolean, local = false, role: Caller['role'] = 'none'): Caller =>
      ({ role, via: role === 'none' ? 'anonymous' : 'access-token', address: local ? '127.0.0.1' : '10.213.0.2', local, key: 'anonymous', failedCredential }) as Caller
    const request = () => new Request('http://box:3000/api/whoami', { headers: { authorization: 'Bearer something' } })
    const once = request()
    for (let i = 0; i < 5; i++) expect(l.account(once, caller(true), conn)).toBeNull()
    // No guess (anonymous, or a credential that was right): not counted.
    for (let i = 0; i < 50; i++) expect(l.account(request(), caller(false), conn)).toBeNull()
    for (let i = 0; i < PER_CLIENT.limit - 1; i++) expect(l.account(request(), caller(true), conn)).toBeNull()
    expect(l.account(request(), caller(true), conn)?.status).toBe(429)
    // Over budget: a valid credential still passes, and does not reset the count.
    expect(l.account(request(), caller(false, false, 'admin'), conn)).toBeNull()
    expect(l.account(request(), caller(true), conn)?.status).toBe(429)
    for (let i = 0; i < 50; i++) expect(l.account(request(), caller(true, true), conn)).toBeNull()
  })
})

describe('BoundedMap', () => {
  it('drops the oldest entry beyond its size and stays fast over many evictions', () => {
    const m = new BoundedMap<number, number>(1000)
    const started = performance.now()
    for (let i = 0; i < 200_000; i++) {
      m.set(i, i)
      if (i % 3 === 0) m.delete(i - 500)
    }
    expect(m.size).toBeLessThanOrEqual(1000)
    expect(m.has(199_999)).toBe(true)
    expect(m.has(100)).toBe(false)
    expect(m.oldest()![0]).toBeGreaterThan(198_000)
    expect(performance.now() - started).toBeLessThan(2000)
  })
})
