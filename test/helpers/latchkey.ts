/**
 * Start latchkey for a test: as a child process (`bun src/main.ts`, or the compiled binary
 * with LATCHKEY_TEST_BINARY / `binary: true`), on ephemeral ports, with a fresh data dir.
 * The ports are read from the `ready` log line, never fixed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dir, '..', '..')
export const BUN = join(ROOT, 'node_modules', '.bin', 'bun')
export const FAKES_BIN = join(ROOT, 'test', 'fakes', 'bin')

export interface Latchkey {
  proc: ChildProcess
  dataDir: string
  dashboardPort: number
  apiPort: number
  /** Tunnel ingress listener ports (127.0.0.1). */
  tailscaleIngressPort: number
  cloudflareIngressPort: number
  /** Everything printed so far (stdout + stderr). */
  output(): string
  /** The access token printed in the banner (when remote access is on). */
  token: string | null
  /** Base URL of the dashboard listener on 127.0.0.1. */
  url(path?: string, listener?: 'dashboard' | 'api'): string
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export interface StartOptions {
  args?: string[]
  env?: Record<string, string | undefined>
  /** Existing data dir (reuse across restarts); a fresh temp dir otherwise. */
  dataDir?: string
  /** latchkey.yaml contents written into the data dir before start. */
  yaml?: string
  /** Run the compiled binary instead of the source. */
  binary?: string
  cwd?: string
  /** Wait for the ready line (default true). */
  waitReady?: boolean
  runtime?: 'bun' | 'deno'
  /** Pass no --data-dir: latchkey uses LATCHKEY_HOME or ~/.latchkey, as a user's would. */
  defaultDataDir?: boolean
}

export function tempDir(prefix = 'lk-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export async function startLatchkey(opts: StartOptions = {}): Promise<Latchkey> {
  const dataDir = opts.dataDir ?? tempDir()
  if (opts.yaml !== undefined) writeFileSync(join(dataDir, 'latchkey.yaml'), opts.yaml)
  const hasPort = (flag: string) => (opts.args ?? []).some((a) => a === flag || a.startsWith(flag + '='))
  const args = [...(opts.args ?? [])]
  if (!hasPort('--port')) args.push('--port', '0')
  if (!hasPort('--api-port')) args.push('--api-port', '0')
  if (!args.includes('--data-dir') && !opts.defaultDataDir) args.push('--data-dir', dataDir)
  const binary = opts.binary ?? process.env.LATCHKEY_TEST_BINARY
  const cmd =
    binary ? [binary, ...args]
    : opts.runtime === 'deno' ? [join(ROOT, 'node_modules', '.bin', 'deno'), 'run', '-A', join(ROOT, 'src', 'main.ts'), ...args]
    : [BUN, join(ROOT, 'src', 'main.ts'), ...args]
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PATH: `${FAKES_BIN}:${process.env.PATH}`, NO_COLOR: '1' }
  for (const k of Object.keys(env)) if (k.startsWith('LATCHKEY_') && k !== 'LATCHKEY_FAKE_BUN') delete env[k]
  // The test machine may itself be a container (latchkey would then bind 0.0.0.0): look for
  // container markers in the fresh data dir, which has none, unless the test says otherwise.
  env.LATCHKEY_CONTAINER_ROOT = dataDir
  delete env.container
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const proc = spawn(cmd[0], cmd.slice(1), { cwd: opts.cwd ?? dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const waiters: (() => void)[] = []
  const onData = (d: Buffer) => {
    out += d.toString('utf8')
    for (const w of [...waiters]) w()
  }
  proc.stdout!.on('data', onData)
  proc.stderr!.on('data', onData)
  let exited: number | null | undefined
  const exitPromise = new Promise<number | null>((r) => proc.on('exit', (code, sig) => {
    exited = code ?? (sig ? 128 : null)
    for (const w of [...waiters]) w()
    r(exited)
  }))
  const waitFor = (pattern: RegExp, timeoutMs = 15000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(pattern)
        if (m) return done(() => resolve(m))
        if (exited !== undefined) return done(() => reject(new Error(`latchkey exited (${exited}) before ${pattern}:\n${out}`)))
      }
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${out}`))), timeoutMs)
      const done = (f: () => void) => {
        clearTimeout(timer)
        const i = waiters.indexOf(check)
        if (i !== -1) waiters.splice(i, 1)
        f()
      }
      waiters.push(check)
      check()
    })
  const lk: Latchkey = {
    proc,
    dataDir,
    dashboardPort: 0,
    apiPort: 0,
    tailscaleIngressPort: 0,
    cloudflareIngressPort: 0,
    token: null,
    output: () => out,
    url: (path = '/', listener = 'dashboard') => `http://127.0.0.1:${listener === 'api' ? lk.apiPort : lk.dashboardPort}${path}`,
    waitFor,
    async stop(signal = 'SIGTERM') {
      if (exited === undefined) proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      const code = await exitPromise
      clearTimeout(timer)
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
      return code
    },
  }
  if (opts.waitReady !== false) {
    const m = await waitFor(/INFO\s+ready(?: dashboard=(\d+))? api=(\d+) tsi=(\d+) cfi=(\d+)/)
    lk.dashboardPort = Number(m[1] ?? 0)
    lk.apiPort = Number(m[2])
    lk.tailscaleIngressPort = Number(m[3])
    lk.cloudflareIngressPort = Number(m[4])
    lk.token = out.match(/must enter this token:\n\s+(\S+)/)?.[1] ?? null
  }
  return lk
}
