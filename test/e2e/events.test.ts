/**
 * GET /api/remote/events, the stream behind the dashboard's live status: the stream itself
 * (status on change, no repeats, heartbeats, unsubscribe on disconnect) and its guard over
 * real sockets from a namespace peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { statusStream } from '../../src/api/events.ts'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, curlFrom, type Peer } from '../helpers/netns.ts'
import { builtBinary } from './helpers/binary.ts'

function fakeTunnels() {
  let status: unknown = { state: 'stopped' }
  const listeners = new Set<() => void>()
  return {
    subscribed: () => listeners.size,
    set(next: unknown) {
      status = next
      for (const l of listeners) l()
    },
    poke: () => listeners.forEach((l) => l()),
    status: async () => status,
    onChange(l: () => void) {
      listeners.add(l)
      return () => void listeners.delete(l)
    },
  }
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, seen: { text: string }, pattern: RegExp, timeoutMs = 2000): Promise<void> {
  const decoder = new TextDecoder()
  const deadline = Date.now() + timeoutMs
  while (!pattern.test(seen.text)) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in ${JSON.stringify(seen.text)}`)
    const { value, done } = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${pattern}`)), deadline - Date.now()))])
    if (done) throw new Error('stream ended')
    seen.text += decoder.decode(value)
  }
}

describe('statusStream', () => {
  it('sends the status at once and after each change, never the same status twice in a row', async () => {
    const tunnels = fakeTunnels()
    const res = statusStream(tunnels)
    expect(res.headers.get('content-type')).toStartWith('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const reader = res.body!.getReader()
    const seen = { text: '' }
    await readUntil(reader, seen, /event: status\ndata: \{"state":"stopped"\}\n\n/)
    tunnels.poke()
    tunnels.set({ state: 'starting' })
    await readUntil(reader, seen, /"starting"/)
    tunnels.set({ state: 'running', url: 'https://a.trycloudflare.com' })
    await readUntil(reader, seen, /"running"/)
    expect(seen.text.match(/event: status/g)!.length).toBe(3)
    await reader.cancel()
    expect(tunnels.subscribed()).toBe(0)
  })

  it('sends a heartbeat comment on the interval and stops when the client aborts', async () => {
    const tunnels = fakeTunnels()
    const abort = new AbortController()
    const reader = statusStream(tunnels, abort.signal, 50).body!.getReader()
    const seen = { text: '' }
    await readUntil(reader, seen, /: heartbeat\n\n: heartbeat\n\n/)
    expect(tunnels.subscribed()).toBe(1)
    abort.abort()
    expect(tunnels.subscribed()).toBe(0)
  })
})

describe('GET /api/remote/events', () => {
  let lk: Latchkey
  let peer: Peer

  beforeAll(async () => {
    peer = createPeer()
    lk = await startLatchkey({ binary: builtBinary(), args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress] })
  }, 30_000)

  afterAll(async () => {
    await lk?.stop()
    peer?.destroy()
  })

  it('refuses an anonymous remote device with 401', async () => {
    const res = await curlFrom(peer.ns, `http://${peer.hostAddress}:${lk.dashboardPort}/api/remote/events`)
    expect(res.status).toBe(401)
  })

  it('streams the status to a signed-in viewer on a remote device', async () => {
    const gen = await curlFrom(null, lk.url('/api/remote/token/short-lived/generate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"viewer"}' })
    const login = await curlFrom(peer.ns, gen.json().url)
    const cookie = /latchkey_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0]
    // The stream stays open: curl stops reading after a second (exit 28) with what arrived.
    const raw = peer.exec(['curl', '-sN', '--max-time', '1', '-H', `cookie: ${cookie}`, `http://${peer.hostAddress}:${lk.dashboardPort}/api/remote/events`])
    expect(raw.stdout).toContain('event: status\ndata: {"state":"stopped"')
  })
})
