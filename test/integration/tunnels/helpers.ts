/**
 * Shared setup for the tunnel tests: latchkey from source with the fake tailscale/cloudflared
 * first on PATH (test/fakes/README.md), per-test record and state dirs, small fake delays, and
 * small API helpers. Everything talks to 127.0.0.1 only.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { alive } from '../../helpers/processes.ts'

export const FAST: Record<string, string> = {
  FAKE_CLOUDFLARED_READY_DELAY_MS: '150',
  FAKE_CLOUDFLARED_REGISTER_DELAY_MS: '50',
  FAKE_CLOUDFLARED_SHUTDOWN_MS: '50',
  FAKE_TAILSCALE_READY_DELAY_MS: '50',
}

/** A named-tunnel token as cloudflared expects it (facts §2): base64 of {"a","t","s"}. */
export const TUNNEL_TOKEN = Buffer.from(JSON.stringify({ a: 'acct0123456789', t: '6ff42ae2-765d-4adf-8112-31c55c1551ef', s: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=' })).toString('base64')

export interface Harness {
  lk: Latchkey
  dataDir: string
  cfRecords: string
  tsRecords: string
  tsState: string
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>
  status(): Promise<any>
  waitState(state: string | ((s: any) => boolean), timeoutMs?: number): Promise<any>
  stop(signal?: NodeJS.Signals): Promise<void>
}

export interface HarnessOptions {
  settings?: Record<string, unknown>
  env?: Record<string, string | undefined>
  dataDir?: string
  args?: string[]
  dirs?: { cfRecords: string; tsRecords: string; tsState: string }
  keepDataDir?: boolean
}

export function remote(ra: Record<string, unknown>): Record<string, unknown> {
  return { remoteAccess: ra }
}

export function newDirs() {
  return { cfRecords: tempDir('lk-cfrec-'), tsRecords: tempDir('lk-tsrec-'), tsState: tempDir('lk-tsstate-') }
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dataDir = opts.dataDir ?? tempDir('lk-tun-')
  const dirs = opts.dirs ?? newDirs()
  if (opts.settings) writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(opts.settings, null, 2))
  const lk = await startLatchkey({
    dataDir,
    args: ['--log-level', 'debug', ...(opts.args ?? [])],
    env: {
      ...FAST,
      FAKE_CLOUDFLARED_RECORD_DIR: dirs.cfRecords,
      FAKE_TAILSCALE_RECORD_DIR: dirs.tsRecords,
      FAKE_TAILSCALE_STATE_DIR: dirs.tsState,
      LATCHKEY_TUNNEL_GRACE_MS: '1500',
      ...opts.env,
    },
  })
  const api: Harness['api'] = async (method, path, body, headers = {}) => {
    const res = await fetch(lk.url(`/api${path}`, 'api'), {
      method,
      headers: { ...(method === 'GET' ? {} : { 'content-type': 'application/json' }), ...headers },
      body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
    })
    const text = await res.text()
    let parsed: any = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    return { status: res.status, body: parsed }
  }
  const status = async () => (await api('GET', '/remote/status')).body
  const waitState: Harness['waitState'] = async (want, timeoutMs = 10_000) => {
    const ok = typeof want === 'string' ? (s: any) => s.state === want : want
    const end = Date.now() + timeoutMs
    let last: any
    while (Date.now() < end) {
      last = await status()
      if (ok(last)) return last
      await Bun.sleep(50)
    }
    throw new Error(`timed out waiting for tunnel state ${String(want)}; last: ${JSON.stringify(last)}\n${lk.output().slice(-3000)}`)
  }
  return {
    lk, dataDir, ...dirs, api, status, waitState,
    async stop(signal = 'SIGTERM') {
      await lk.stop(signal)
      if (!opts.keepDataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export interface FakeRecord {
  pid: number
  pgid?: number
  argv: string[]
  env: Record<string, string>
  exit?: { code: number | null; signal: string | null }
}

/** Tunnel processes a fake recorded (not the short `tailscale funnel status/off/reset` commands). */
export function records(dir: string): FakeRecord[] {
  return allRecords(dir).filter((r) => !r.argv.some((a) => a === 'status' || a === 'off' || a === 'reset' || a === '--bg'))
}

export function allRecords(dir: string): FakeRecord[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')))
}

export { alive }

/** Pids of fake processes (tunnels) still alive. */
export const livePids = (dir: string) => records(dir).filter((r) => alive(r.pid)).map((r) => r.pid)

/** The forwarding ("public") port a fake recorded. */
export async function publicPort(dir: string, pid: number, timeoutMs = 5000): Promise<number> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    try {
      const text = readFileSync(join(dir, `${pid}.port`), 'utf8')
      if (/^\d+$/.test(text)) return Number(text)
    } catch {}
    await Bun.sleep(25)
  }
  throw new Error(`no forwarding port recorded for ${pid}`)
}

/** A TCP port that was free a moment ago. */
export function freePort(): number {
  const s = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
  const port = s.port!
  s.stop(true)
  return port
}

export async function waitUntil(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (check()) return
    await Bun.sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

export const quickSettings = (extra: Record<string, unknown> = {}) =>
  remote({ enabled: true, activeProvider: 'cloudflare', providers: { cloudflare: { enabled: true, quickTunnel: true } }, ...extra })

export const namedSettings = (extra: Record<string, unknown> = {}) =>
  remote({
    enabled: true,
    activeProvider: 'cloudflare',
    providers: { cloudflare: { enabled: true, quickTunnel: false, tunnelName: 'home', tunnelToken: TUNNEL_TOKEN, ingressUrl: 'https://lk.example.com' } },
    ...extra,
  })

export const tailscaleSettings = (targetPort: number, extra: Record<string, unknown> = {}, mode = 'funnel') =>
  remote({
    enabled: true,
    activeProvider: 'tailscale',
    providers: { tailscale: { enabled: true, hostname: 'host.tailnet.ts.net', targetPort, mode } },
    ...extra,
  })
