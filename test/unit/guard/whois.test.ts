/**
 * The LocalAPI client and the cached WhoIs against the fake LocalAPI on a real unix socket
 * (facts §4.1–§4.3): the request form tailscaled accepts, identities, tagged nodes, unknown
 * peers, a daemon that is down or slow, and what a cache hit costs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createServer, type Server } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeLocalApi, type FakeLocalApi } from '../../fakes/localapi.ts'
import { createLocalApiClient, LOCALAPI_HOST } from '../../../src/tailscale/localapi-client.ts'
import { answerFromWhois, createWhois, personOf, whoisAddr } from '../../../src/tailscale/whois.ts'

let api: FakeLocalApi

beforeAll(async () => {
  api = await startFakeLocalApi({
    peers: {
      '100.64.0.2': { UserProfile: { ID: 12345, LoginName: 'alice@example.com', DisplayName: 'Alice', ProfilePicURL: 'https://example.com/alice.png' }, HostName: 'alice-phone' },
      '100.64.0.3': { UserProfile: { ID: 67890, LoginName: 'bob@example.com', DisplayName: 'Bob' } },
      '100.64.0.9': { Tags: ['tag:server'] },
      'fd7a:115c:a1e0::5': { UserProfile: { ID: 555, LoginName: 'v6@example.com', DisplayName: 'Six' } },
    },
  })
})
afterAll(async () => {
  await api.stop()
})

describe('localapi-client', () => {
  it('sends Host local-tailscaled.sock and no Origin or Referer over the socket', async () => {
    const client = createLocalApiClient({ socketPath: api.socketPath })
    const before = api.requests.length
    const res = await client.get('/localapi/v0/whois?addr=100.64.0.2:41641')
    expect(res.status).toBe(200)
    const sent = api.requests[before]
    expect(sent.headers.host).toBe(LOCALAPI_HOST)
    expect(sent.headers.origin).toBeUndefined()
    expect(sent.headers.referer).toBeUndefined()
    expect(sent.query.addr).toBe('100.64.0.2:41641')
  })

  it('fails with "unreachable" at once when the socket does not exist', async () => {
    const client = createLocalApiClient({ socketPath: '/nonexistent/tailscaled.sock' })
    const t0 = performance.now()
    await expect(client.get('/localapi/v0/status')).rejects.toMatchObject({ failure: 'unreachable' })
    expect(performance.now() - t0).toBeLessThan(500)
  })

  it('gives up with "timeout" when the daemon accepts but never answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-silent-'))
    const socketPath = join(dir, 'silent.sock')
    const silent: Server = createServer(() => {}).listen(socketPath)
    await new Promise((r) => silent.once('listening', r))
    try {
      const client = createLocalApiClient({ socketPath, timeoutMs: 150 })
      const t0 = performance.now()
      await expect(client.get('/localapi/v0/status')).rejects.toMatchObject({ failure: 'timeout' })
      expect(performance.now() - t0).toBeLessThan(1000)
    } finally {
      silent.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('whois', () => {
  it('resolves a user-owned node to its profile, ID as a string', async () => {
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath }) })
    expect(await whois('100.64.0.2', 41641)).toEqual({
      kind: 'person',
      identity: {
        id: '12345',
        loginName: 'alice@example.com',
        displayName: 'Alice',
        profilePicUrl: 'https://example.com/alice.png',
        nodeName: 'alice-phone',
      },
    })
    expect(personOf(await whois('fd7a:115c:a1e0::5', 1234))?.id).toBe('555')
  })

  it('answers "tagged", with no identity, for a tagged node (the tagged-devices pseudo-user)', async () => {
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath }) })
    const before = api.requests.length
    expect(await whois('100.64.0.9', 5000)).toEqual({ kind: 'tagged' })
    expect(api.requests.length).toBe(before + 1) // it asked, and rejected the answer
  })

  it('tells an unknown peer (404) from a lookup tailscaled refused (403)', async () => {
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath }) })
    expect(await whois('100.64.0.77', 1)).toEqual({ kind: 'unknown' })
    api.setMode('deny-whois')
    try {
      expect(await whois('100.64.0.3', 1)).toMatchObject({ kind: 'failed', why: 'tailscaled answered WhoIs with HTTP 403' })
    } finally {
      api.setMode('normal')
    }
  })

  it('keeps exact int64 IDs that a JS number would round', () => {
    const body = '{\n\t"Node": {\n\t\t"ID": 9007199254740993,\n\t\t"User": 9007199254740995\n\t},\n\t"UserProfile": {\n\t\t"ID": 9007199254740995,\n\t\t"LoginName": "big@example.com",\n\t\t"DisplayName": "Big"\n\t},\n\t"CapMap": null\n}\n'
    expect(personOf(answerFromWhois(body))?.id).toBe('9007199254740995')
    expect(answerFromWhois('not json').kind).toBe('failed')
    expect(answerFromWhois('{"Node":{"Tags":["tag:x"]},"UserProfile":{"ID":1,"LoginName":"x@y"}}')).toEqual({ kind: 'tagged' })
  })

  it('formats addr as ip:port, [v6]:port, or a bare IP', () => {
    expect(whoisAddr('100.64.0.2', 80)).toBe('100.64.0.2:80')
    expect(whoisAddr('::ffff:100.64.0.2', 80)).toBe('100.64.0.2:80')
    expect(whoisAddr('fd7a:115c:a1e0::5', 80)).toBe('[fd7a:115c:a1e0::5]:80')
    expect(whoisAddr('100.64.0.2', 0)).toBe('100.64.0.2')
  })

  it('answers "failed" when the LocalAPI is slow and "unknown" when it is down, without throwing or hanging', async () => {
    const failures: string[] = []
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath, timeoutMs: 200 }), onFailure: (e) => failures.push(e.failure) })
    api.setMode('slow')
    try {
      expect((await whois('100.64.0.2', 1)).kind).toBe('failed')
    } finally {
      api.setMode('normal')
    }
    api.setMode('down')
    try {
      whois.clear()
      expect(await whois('100.64.0.3', 1)).toEqual({ kind: 'unknown' })
      // No tailscaled: it relays nothing, and is not asked again about every new peer for a while.
      const calls = whois.stats.calls
      expect(whois('100.64.0.4', 1)).toEqual({ kind: 'unknown' })
      expect(whois.stats.calls).toBe(calls)
    } finally {
      api.setMode('normal')
    }
    expect(failures).toEqual(['timeout', 'unreachable'])
  })

  it('asks once per peer address within the TTL, then again after it', async () => {
    let now = 1_000_000
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath }), ttlMs: 5000, now: () => now })
    const before = api.requests.length
    const [a, b] = await Promise.all([whois('100.64.0.3', 1111), whois('100.64.0.3', 2222)]) // shared in flight
    expect(personOf(a)?.id).toBe('67890')
    expect(b).toEqual(a)
    expect(await whois('100.64.0.3', 3333)).toEqual(a)
    expect(api.requests.length).toBe(before + 1)
    now += 5001
    expect(personOf(await whois('100.64.0.3', 4444))?.id).toBe('67890')
    expect(api.requests.length).toBe(before + 2)
  })

  it('keeps loopback peers apart by port (connections tailscaled proxied)', async () => {
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath }) })
    const before = api.requests.length
    await whois('127.0.0.1', 50001)
    await whois('127.0.0.1', 50002)
    expect(api.requests.slice(before).map((r) => r.query.addr)).toEqual(['127.0.0.1:50001', '127.0.0.1:50002'])
  })

  it('asks about a loopback peer on every request, never from a cache, and not at all without the socket', async () => {
    let present = true
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath }), socketPresent: () => present })
    const before = api.requests.length
    await whois('127.0.0.1', 50003)
    await whois('127.0.0.1', 50003)
    expect(api.requests.length).toBe(before + 2)
    present = false
    expect(whois('127.0.0.1', 50003)).toEqual({ kind: 'unknown' })
    expect(api.requests.length).toBe(before + 2)
  })

  it('adds well under a millisecond on a cache hit (measured)', async () => {
    const whois = createWhois({ client: createLocalApiClient({ socketPath: api.socketPath }) })
    await whois('100.64.0.2', 1)
    const n = 20000
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await whois('100.64.0.2', i)
    const perHitMs = (performance.now() - t0) / n
    console.log(`whois cache hit: ${(perHitMs * 1000).toFixed(2)} µs per lookup (${n} lookups)`)
    expect(whois.stats.hits).toBeGreaterThanOrEqual(n)
    expect(perHitMs).toBeLessThan(0.05)
  })
})
