/**
 * WebSocket upgrades through the app proxy: an echo both ways with text and binary frames
 * from a real remote peer, and a cross-site handshake refused before it reaches the app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { BUN, startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startUpstream, type Upstream } from './upstream.ts'
import { appPort, execIn } from './peer-tools.ts'

const CLIENT = join(import.meta.dir, 'ws-client.ts')
let up: Upstream
let peer: Peer
let lk: Latchkey
let port: number

beforeAll(async () => {
  up = startUpstream()
  peer = createPeer()
  lk = await startLatchkey({ args: ['--host', '0.0.0.0'], yaml: `apps:\n  - name: live\n    target: ${up.url}\n    port: 0\n  - name: inpath\n    target: ${up.url}\n` })
  port = await appPort(lk, 'live')
})

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await up?.stop()
})

const handshake = (origin: string | null) => [
  '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13',
  '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...(origin ? ['-H', `Origin: ${origin}`] : []),
]

describe('app proxy WebSocket', () => {
  it('echoes text and binary frames both ways for a remote peer with a token', async () => {
    const r = await execIn(peer.ns, [BUN, CLIENT, `ws://${peer.hostAddress}:${port}/ws`, lk.token!])
    expect(JSON.parse(r.stdout)).toEqual({ got: [{ text: 'echo:hello' }, { binary: [255, 254, 253, 5, 0] }] })
    const seen = up.received.filter((q) => q.path === '/ws').at(-1)!
    expect(seen.headers.authorization).toBeUndefined()
    expect(seen.headers['x-forwarded-for']).toBe(peer.peerAddress)
  })

  it('proxies a WebSocket on a path-mode app too', async () => {
    const r = await execIn(peer.ns, [BUN, CLIENT, `ws://${peer.hostAddress}:${lk.dashboardPort}/apps/inpath/ws`, lk.token!])
    expect(JSON.parse(r.stdout).got).toEqual([{ text: 'echo:hello' }, { binary: [255, 254, 253, 5, 0] }])
  })

  it('refuses a WebSocket without a credential from a remote peer', async () => {
    const before = up.received.length
    const r = await execIn(peer.ns, [BUN, CLIENT, `ws://${peer.hostAddress}:${port}/ws`])
    expect(JSON.parse(r.stdout).error).toBe('error')
    expect(up.received.length).toBe(before)
  })

  it('refuses a cross-site WebSocket handshake before it reaches the app', async () => {
    const before = up.received.length
    const res = await curlFrom(null, `http://127.0.0.1:${port}/ws`, { curlArgs: handshake('http://evil.example'), timeoutMs: 5000 })
    expect(res.status).toBe(403)
    expect(res.body).toContain('cross_origin_refused')
    expect(up.received.length).toBe(before)
  })

  it('accepts a same-origin WebSocket handshake from the local browser', async () => {
    const r = await execIn(null, [BUN, '-e', `
      const ws = new WebSocket('ws://127.0.0.1:${port}/ws', { headers: { origin: 'http://127.0.0.1:${port}' } })
      ws.onopen = () => ws.send('same')
      ws.onmessage = (e) => { console.log(e.data); process.exit(0) }
      ws.onerror = () => { console.log('error'); process.exit(0) }
      setTimeout(() => { console.log('timeout'); process.exit(0) }, 4000)
    `])
    expect(r.stdout.trim()).toBe('echo:same')
    // The app sees its own origin, so its own origin check agrees with latchkey's.
    expect(up.received.filter((q) => q.path === '/ws').at(-1)!.headers.origin).toBe(up.url)
  })
})
