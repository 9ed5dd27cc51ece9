/**
 * Deno test helpers: latchkey started with `deno run -A src/main.ts` (the same command as
 * `deno task start`) on ephemeral ports, with the fake tailscale/cloudflared first on PATH, and
 * small HTTP helpers. Portable code only (node: modules, fetch), so the same helpers would run
 * under Bun; the namespace peer is test/helpers/netns.ts, which is portable too.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { alive } from '../helpers/processes.ts'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
export const DENO = join(ROOT, 'node_modules', 'deno', 'deno')
export const FAKES_BIN = join(ROOT, 'test', 'fakes', 'bin')

/** Small fake delays (test/fakes/README.md). */
export const FAST: Record<string, string> = {
  FAKE_CLOUDFLARED_READY_DELAY_MS: '150',
  FAKE_CLOUDFLARED_REGISTER_DELAY_MS: '50',
  FAKE_CLOUDFLARED_SHUTDOWN_MS: '50',
  FAKE_TAILSCALE_READY_DELAY_MS: '50',
}

export const tempDir = (prefix = 'lk-deno-') => mkdtempSync(join(tmpdir(), prefix))
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface DenoLatchkey {
  proc: ChildProcess
  dataDir: string
  dashboardPort: number
  apiPort: number
  cloudflareIngressPort: number
  token: string | null
  output(): string
  url(path: string, listener?: 'dashboard' | 'api'): string
  stop(): Promise<number | null>
}

export async function startDenoLatchkey(opts: { args?: string[]; env?: Record<string, string>; settings?: unknown } = {}): Promise<DenoLatchkey> {
  const dataDir = tempDir()
  if (opts.settings) writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(opts.settings))
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('LATCHKEY_')) env[k] = v
  Object.assign(env, { PATH: `${FAKES_BIN}:${process.env.PATH}`, NO_COLOR: '1', ...opts.env })
  const args = ['run', '-A', join(ROOT, 'src', 'main.ts'), ...(opts.args ?? []), '--port', '0', '--api-port', '0', '--data-dir', dataDir, '--no-tui']
  const proc = spawn(DENO, args, { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', (d) => (out += d))
  proc.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
  const end = Date.now() + 30_000
  let m: RegExpMatchArray | null = null
  while (!(m = out.match(/INFO\s+ready(?: dashboard=(\d+))? api=(\d+) tsi=(\d+) cfi=(\d+)/))) {
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill('SIGKILL')
      throw new Error(`latchkey under deno did not become ready:\n${out}`)
    }
    await sleep(50)
  }
  const lk: DenoLatchkey = {
    proc,
    dataDir,
    dashboardPort: Number(m[1] ?? 0),
    apiPort: Number(m[2]),
    cloudflareIngressPort: Number(m[4]),
    token: out.match(/must enter this token:\n\s+(\S+)/)?.[1] ?? null,
    output: () => out,
    url: (path, listener = 'api') => `http://127.0.0.1:${listener === 'api' ? lk.apiPort : lk.dashboardPort}${path}`,
    async stop() {
      // Note: process.kill, not proc.kill: Deno's ChildProcess reports (null, signal) after
      // proc.kill even when the child handled the signal and exited 0.
      if (proc.exitCode === null) process.kill(proc.pid!, 'SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 8000)
      const code = await exited
      clearTimeout(timer)
      rmSync(dataDir, { recursive: true, force: true })
      return code
    },
  }
  return lk
}

/** A JSON POST from loopback (the local user: admin). */
export async function post(url: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers })
  return { status: res.status, body: await res.json() }
}

export { alive }

export const quickSettings = () => ({ remoteAccess: { enabled: true, activeProvider: 'cloudflare', providers: { cloudflare: { enabled: true, quickTunnel: true } } } })
