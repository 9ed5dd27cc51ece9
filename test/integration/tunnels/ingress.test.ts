/**
 * The security property of issue 4: a tunnel delivers internet traffic from 127.0.0.1, so it
 * points at a tunnel-ingress listener, and every request through it needs a credential. The
 * fakes really forward: an anonymous request through each fake tunnel gets 401 on every route
 * that is not public, and the handler did not run (checked by its side effect).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createApi } from '../../../src/app.ts'
import { freePort, publicPort, records, startHarness, tailscaleSettings, type Harness } from './helpers.ts'

/** Every API route, read from the composed app (a stub is enough: only the route table is used). */
const guard = { origins: { allows: () => false }, log: console }
const stub = new Proxy({}, { get: (_t, k) => (k === 'guard' ? guard : k === 'log' ? console : undefined) })
const ROUTES = (createApi(stub as never).routes as { method: string; path: string }[])
  .filter((r) => r.method !== 'OPTIONS')
  .map((r) => ({ method: r.method, path: r.path.replace(/:\w+/g, 'x').replace(/\/$/, '') || '/' }))
/** Routes declared `{ role: 'public' }` (STYLE.md §3): they may answer without a credential. */
const PUBLIC = new Set(['GET /api/health', 'GET /api/whoami', 'GET /remote-login', 'POST /api/session/logout'])

const ACCESS_TOKEN = 'tunnel-ingress-test-token-0123456789'
let h: Harness
let cfPublic: number
let tsPublic: number

beforeAll(async () => {
  const targetPort = freePort()
  const settings = tailscaleSettings(targetPort)
  ;(settings.remoteAccess as any).providers.cloudflare = { enabled: true, quickTunnel: true }
  h = await startHarness({ settings, env: { LATCHKEY_AUTH_TOKEN: ACCESS_TOKEN } })
  await h.api('POST', '/remote/tunnel/start')
  await h.waitState('running')
  tsPublic = await publicPort(h.tsRecords, records(h.tsRecords)[0].pid)
  // A second latchkey-managed tunnel cannot run at once; the quick tunnel runs as a plain fake
  // pointed at the Cloudflare ingress port latchkey printed, exactly as latchkey would start it.
  const cfi = Number(h.lk.output().match(/cfi=(\d+)/)![1])
  const proc = Bun.spawn([join(import.meta.dir, '../../fakes/bin/cloudflared'), 'tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:0', '--url', `http://127.0.0.1:${cfi}`], {
    env: { ...process.env, FAKE_CLOUDFLARED_READY_DELAY_MS: '50', FAKE_CLOUDFLARED_REGISTER_DELAY_MS: '20', FAKE_CLOUDFLARED_RECORD_DIR: h.cfRecords },
    stdout: 'ignore', stderr: 'ignore',
  })
  cfProc = proc
  cfPublic = await publicPort(h.cfRecords, proc.pid)
})
let cfProc: ReturnType<typeof Bun.spawn>
afterAll(async () => {
  cfProc?.kill('SIGKILL')
  await h.stop()
})

const through = (port: number, method: string, path: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: method === 'GET' || method === 'DELETE' ? headers : { 'content-type': 'application/json', ...headers },
    // A body every route's schema accepts, so the guard (not validation) is what answers.
    body: method === 'GET' || method === 'DELETE' ? undefined : '{"enabled":false,"provider":"cloudflare","mode":"persistent"}',
    redirect: 'manual',
  })

for (const [name, port] of [['Tailscale funnel', () => tsPublic], ['Cloudflare quick tunnel', () => cfPublic]] as const) {
  describe(`requests through the ${name}`, () => {
    it('get 401 without a credential on every non-public route, and on the dashboard page', async () => {
      const settingsBefore = readFileSync(join(h.dataDir, 'settings.json'), 'utf8')
      const seen: string[] = []
      for (const r of [...ROUTES, { method: 'GET', path: '/' }]) {
        const key = `${r.method} ${r.path}`
        if (PUBLIC.has(key)) continue
        // Headers a client might forge: identity and forwarding claims are ignored on ingress.
        const res = await through(port(), r.method, r.path, { 'Tailscale-User-Login': 'owner@example.com', 'X-Forwarded-For': '127.0.0.1', 'Fake-Tailscale-Source': 'tailnet' })
        if (res.status !== 401) seen.push(`${key} → ${res.status}`)
      }
      expect(seen).toEqual([])
      // No handler ran: the tunnel is still running and settings.json is unchanged.
      expect((await h.status()).state).toBe('running')
      expect(readFileSync(join(h.dataDir, 'settings.json'), 'utf8')).toBe(settingsBefore)
    })

    it('reaches latchkey (a public route answers through it)', async () => {
      const res = await through(port(), 'GET', '/api/whoami')
      expect(res.status).toBe(200)
      expect((await res.json()).role).toBe('none')
    })

    it('serves a caller with the access token', async () => {
      const res = await through(port(), 'GET', '/api/remote/status', { authorization: `Bearer ${ACCESS_TOKEN}` })
      expect(res.status).toBe(200)
      expect((await res.json()).state).toBe('running')
    })
  })
}
