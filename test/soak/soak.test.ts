/**
 * The soak (scripts/soak.ts, `npm run soak`) in short: 10 s instead of 60, 100 keep-alive API
 * connections instead of 500, 20 proxied WebSockets and 20 SSE streams instead of 100, from a
 * namespace peer. The same criteria: zero errors, RSS growth < 10% after warm-up, file
 * descriptors back to the starting count once the clients leave.
 */
import { describe, expect, it, setDefaultTimeout } from 'bun:test'
import { soak } from '../../scripts/soak.ts'

setDefaultTimeout(60_000)

describe('soak (short)', () => {
  it('holds API load, WebSockets and SSE streams with no errors, no growth and no leaked descriptors', async () => {
    const r = await soak({ seconds: 10, connections: 100, ws: 20, sse: 20 })
    console.log(`soak: ${r.wrk.requests} API requests (${r.wrk.rps.toFixed(0)}/s), ${r.clients.wsEchoed} echoes, ${r.clients.sseEvents} SSE events, RSS ${r.rssMb.warm.toFixed(1)} -> ${r.rssMb.end.toFixed(1)} MiB, fds ${r.fds.start} -> ${r.fds.underLoad} -> ${r.fds.end}`)
    expect(r.failures).toEqual([])
    // The load really happened (so the criteria above are not met vacuously).
    expect(r.wrk.requests!).toBeGreaterThan(10_000)
    expect(r.wrk.errors).toBe(0)
    expect(r.clients.wsOpened).toBe(20)
    expect(r.clients.sseOpened).toBe(20)
    expect(r.clients.wsEchoed).toBeGreaterThanOrEqual(20 * 7)
    expect(r.clients.sseEvents).toBeGreaterThanOrEqual(20 * 7)
    expect(r.fds.underLoad).toBeGreaterThan(r.fds.start + 40)
    expect(r.fds.end).toBeLessThanOrEqual(r.fds.start)
    expect(r.rssGrowth).toBeLessThan(0.1)
    expect(r.ok).toBe(true)
  })
})
