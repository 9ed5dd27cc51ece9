/**
 * `adminAllowLocalhost` on and off (admin-allowlist reference, "Fields"): loopback and
 * RFC 1918 peers — a 10.213.x namespace peer and a 172.17.x one, as a Docker bridge would
 * show — become admin only when it is on, with a start-up warning; and with an empty
 * allowlist nothing becomes open (the reference's advisory).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'

let lan: Peer
let docker: Peer
// No tailscaled here: a socket path that does not exist (WhoIs then gives no identity).
const noSocket = join(tempDir('lk-nosock-'), 'tailscaled.sock')
const ALLOWLIST = 'admins:\n  - "12345"\n'

beforeAll(() => {
  lan = createPeer()
  docker = createPeer({ hostAddress: '172.17.213.1', peerAddress: '172.17.213.2' })
})
afterAll(() => {
  lan?.destroy()
  docker?.destroy()
})

const connectFrom = (p: Peer, lk: Latchkey, headers: Record<string, string> = {}) => p.fetch(`http://${p.hostAddress}:${lk.dashboardPort}/api/connect`, { headers })
const whoamiFrom = (p: Peer, lk: Latchkey) => p.fetch(`http://${p.hostAddress}:${lk.dashboardPort}/api/whoami`).then((r) => r.json())

describe('adminAllowLocalhost: true', () => {
  let lk: Latchkey
  beforeAll(async () => {
    lk = await startLatchkey({ args: ['--host', '0.0.0.0', '--tailscale-socket', noSocket], yaml: ALLOWLIST + 'adminAllowLocalhost: true\n' })
  })
  afterAll(async () => {
    await lk?.stop()
  })

  it('warns at start-up', () => {
    expect(lk.output()).toMatch(/WARN\s+adminAllowLocalhost is on: loopback and private-network \(RFC 1918\) peers are admin/)
  })

  it('makes loopback, a 10.x peer and a 172.17.x peer admin, and runs the admin handler', async () => {
    const local = await curlFrom(null, `http://127.0.0.1:${lk.dashboardPort}/api/connect`)
    expect(local.status).toBe(200)
    expect(local.json()).toHaveProperty('tokenIncluded')
    for (const p of [lan, docker]) {
      const res = await connectFrom(p, lk)
      expect(res.status).toBe(200)
      expect(res.json()).toHaveProperty('tokenIncluded')
      expect(await whoamiFrom(p, lk)).toMatchObject({ role: 'admin', method: 'private-network', address: p.peerAddress })
    }
  })

  it('does not admit a private peer that sends forwarding headers', async () => {
    const res = await connectFrom(docker, lk, { 'x-forwarded-for': '203.0.113.7' })
    expect(res.status).toBe(401)
    expect(res.body).not.toContain('tokenIncluded')
  })

  it('never admits anything through a tunnel ingress', async () => {
    const res = await curlFrom(null, `http://127.0.0.1:${lk.cloudflareIngressPort}/api/connect`, { headers: { host: 'x.trycloudflare.com' } })
    expect(res.status).toBe(401)
  })
})

describe('adminAllowLocalhost: false (admins set)', () => {
  let lk: Latchkey
  beforeAll(async () => {
    lk = await startLatchkey({ args: ['--host', '0.0.0.0', '--tailscale-socket', noSocket], yaml: ALLOWLIST })
  })
  afterAll(async () => {
    await lk?.stop()
  })

  it('does not warn, and refuses the 10.x and 172.17.x peers (no identity: 401)', async () => {
    expect(lk.output()).not.toContain('adminAllowLocalhost is on')
    for (const p of [lan, docker]) {
      const res = await connectFrom(p, lk)
      expect(res.status).toBe(401)
      expect(res.body).not.toContain('tokenIncluded')
      expect(await whoamiFrom(p, lk)).toMatchObject({ role: 'none', authenticated: false })
    }
  })

  it('refuses the local user with 403 and the way in', async () => {
    const res = await curlFrom(null, `http://127.0.0.1:${lk.dashboardPort}/api/access`)
    expect(res.status).toBe(403)
    expect(res.json().message).toStartWith('admin access requires a Tailscale identity or an API key')
    expect(res.body).not.toContain('tokenRequired')
  })
})

describe('an empty allowlist', () => {
  let lk: Latchkey
  beforeAll(async () => {
    lk = await startLatchkey({ args: ['--host', '0.0.0.0', '--tailscale-socket', noSocket], yaml: 'admins: []\n' })
  })
  afterAll(async () => {
    await lk?.stop()
  })

  it('opens nothing: every non-public route still needs authentication, from every remote path', async () => {
    const paths = ['/api/access', '/api/remote/status', '/api/connect', '/api/connect/qr.svg']
    const failures: string[] = []
    type Init = Parameters<typeof curlFrom>[2]
    const senders: [string, (path: string, init?: Init) => ReturnType<typeof curlFrom>][] = [
      ['10.x peer', (path, init) => lan.fetch(`http://${lan.hostAddress}:${lk.apiPort}${path}`, init)],
      ['172.17.x peer', (path, init) => docker.fetch(`http://${docker.hostAddress}:${lk.dashboardPort}${path}`, init)],
      ['Cloudflare ingress', (path, init) => curlFrom(null, `http://127.0.0.1:${lk.cloudflareIngressPort}${path}`, { ...init, headers: { host: 'x.trycloudflare.com', ...init?.headers } })],
      ['Tailscale ingress', (path, init) => curlFrom(null, `http://127.0.0.1:${lk.tailscaleIngressPort}${path}`, { ...init, headers: { host: 'h.tailnet.ts.net', ...init?.headers } })],
    ]
    for (const [name, send] of senders) {
      for (const path of paths) {
        const res = await send(path)
        if (res.status !== 401) failures.push(`${name} ${path}: ${res.status}`)
      }
      const post = await send('/api/session/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      if (post.status !== 401 || post.body.includes('signedOut')) failures.push(`${name} POST /api/session/logout: ${post.status}`)
    }
    expect(failures).toEqual([])
    const health = await lan.fetch(`http://${lan.hostAddress}:${lk.apiPort}/api/health`)
    expect(health.status).toBe(200)
  })
})
