/**
 * `latchkey doctor` as a user runs it (a child process), against real files, real ports, the
 * fake tailscale / cloudflared on PATH and the fake LocalAPI on a unix socket: all good, then
 * each check failing on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { BUN, FAKES_BIN, ROOT, startLatchkey, tempDir } from '../../helpers/latchkey.ts'
import { startFakeLocalApi, type FakeLocalApi } from '../../fakes/localapi.ts'

const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin'
let root: string
let api: FakeLocalApi
let loggedOut: FakeLocalApi

beforeAll(async () => {
  root = tempDir('lk-doctor-')
  api = await startFakeLocalApi({ socketPath: join(root, 'tailscaled.sock') })
  loggedOut = await startFakeLocalApi({ socketPath: join(root, 'logged-out.sock'), backendState: 'NeedsLogin' })
})

afterAll(async () => {
  await api.stop()
  await loggedOut.stop()
  rmSync(root, { recursive: true, force: true })
})

/** A healthy data dir: 0700, a valid settings.json (0600) and latchkey.yaml. */
function dataDir(files: Record<string, string> = {}): string {
  // Under root, so afterAll removes every one of them.
  const dir = mkdtempSync(join(root, 'data-'))
  chmodSync(dir, 0o700)
  const all = { 'settings.json': '{}\n', 'latchkey.yaml': 'logLevel: info\n', ...files }
  for (const [name, body] of Object.entries(all)) writeFileSync(join(dir, name), body, { mode: 0o600 })
  return dir
}

/** Two ports free right now (listen on 0, read back, close). */
async function freePorts(): Promise<[number, number]> {
  const one = () =>
    new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port
        s.close(() => resolve(port))
      })
    })
  return [await one(), await one()]
}

interface Run {
  code: number | null
  out: string
  /** The line of one check, e.g. line('tailscale'). */
  line(name: string): string
}

async function doctor(args: string[], opts: { env?: Record<string, string>; path?: string; ports?: [number, number] } = {}): Promise<Run> {
  const [port, apiPort] = opts.ports ?? (await freePorts())
  const argv = [join(ROOT, 'src', 'main.ts'), 'doctor', '--port', String(port), '--api-port', String(apiPort), '--tailscale-socket', api.socketPath, ...args]
  // The test machine may itself be a container: look for markers in a folder that has none, unless the test says otherwise.
  const env = { PATH: opts.path ?? `${FAKES_BIN}:${SYSTEM_PATH}`, HOME: root, NO_COLOR: '1', LATCHKEY_CONTAINER_ROOT: root, ...opts.env }
  const child = spawn(BUN, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  const line = (name: string) => out.split('\n').find((l) => new RegExp(`^. ${name}\\s{2}`).test(l)) ?? `(no line for ${name} in)\n${out}`
  return { code, out, line }
}

describe('latchkey doctor', () => {
  it('exits 0 with every check fine when the setup is healthy', async () => {
    const dir = dataDir()
    const r = await doctor(['--data-dir', dir, '--host', '0.0.0.0', '--allowed-origins', 'box.example'])
    expect(r.out).toContain('All good.')
    expect(r.code).toBe(0)
    expect(r.out).not.toMatch(/^[!✗]/m)
    expect(r.line('data dir')).toMatch(/^✓ .*\(mode 0700\)/)
    expect(r.line('file modes')).toStartWith('✓')
    expect(r.line('settings.json')).toStartWith('✓')
    expect(r.line('latchkey.yaml')).toStartWith('✓')
    expect(r.line('dashboard port')).toMatch(/^✓ .* is free$/)
    expect(r.line('api port')).toMatch(/^✓ .* is free$/)
    expect(r.line('bind and token')).toContain('a new random token at each start')
    expect(r.line('tailscale socket')).toMatch(/^✓ .*logged in as \S+ \(100\.100\.1\.1\)/)
    expect(r.line('tailscale')).toBe(`✓ tailscale         1.103.0 at ${FAKES_BIN}/tailscale`)
    expect(r.line('cloudflared')).toBe(`✓ cloudflared       2026.8.2 at ${FAKES_BIN}/cloudflared`)
    expect(r.line('connect address')).toMatch(/^✓ connect address   http:\/\/box\.example:\d+\/ from the first --allowed-origins entry/)
    // The socket was asked as tailscaled requires (facts §4.1).
    expect(api.requests.at(-1)).toMatchObject({ path: '/localapi/v0/status', headers: { host: 'local-tailscaled.sock' } })
  })

  it('reports a data dir other users can open', async () => {
    const dir = dataDir()
    chmodSync(dir, 0o755)
    const r = await doctor(['--data-dir', dir])
    expect(r.code).toBe(1)
    expect(r.line('data dir')).toBe(`! data dir          ${dir} has mode 0755: other users can list it (fix: chmod 700 ${dir})`)
  })

  it('reports a settings file other users can read', async () => {
    const dir = dataDir()
    chmodSync(join(dir, 'settings.json'), 0o644)
    const r = await doctor(['--data-dir', dir])
    expect(r.code).toBe(1)
    expect(r.line('file modes')).toBe(`✗ file modes        readable by other users: settings.json (0644) (fix: chmod 600 ${join(dir, 'settings.json')})`)
  })

  it('reports an invalid settings.json with its line and column', async () => {
    const dir = dataDir({ 'settings.json': '{\n  "remoteAccess": { "enabled": tru }\n}\n' })
    const r = await doctor(['--data-dir', dir])
    expect(r.code).toBe(1)
    expect(r.line('settings.json')).toMatch(new RegExp(`^✗ settings\\.json     Cannot read ${join(dir, 'settings.json')}: line 2, column \\d+: invalid JSON`))
    expect(r.line('settings.json')).toContain('(fix: ')
  })

  it('reports an invalid latchkey.yaml with its position and still runs the other checks', async () => {
    const dir = dataDir({ 'latchkey.yaml': 'logLevel: info\nport: 99999\n' })
    const r = await doctor(['--data-dir', dir])
    expect(r.code).toBe(1)
    expect(r.line('latchkey.yaml')).toContain(`✗ latchkey.yaml     Cannot read ${join(dir, 'latchkey.yaml')}: line 2, column 7: "port" must be 1-65535`)
    expect(r.line('cloudflared')).toStartWith('✓')
  })

  it('reports a port another program holds', async () => {
    const busy: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => resolve(s))
    })
    const port = (busy.address() as { port: number }).port
    try {
      const [, apiPort] = await freePorts()
      const r = await doctor(['--data-dir', dataDir()], { ports: [port, apiPort] })
      expect(r.code).toBe(1)
      expect(r.line('dashboard port')).toStartWith(`✗ dashboard port    ${port} on 127.0.0.1 is in use by another program (fix: `)
      expect(r.line('api port')).toStartWith('✓')
    } finally {
      busy.close()
    }
  })

  it('tells a port held by the latchkey running on this data dir apart from a conflict', async () => {
    const dir = dataDir()
    const lk = await startLatchkey({ dataDir: dir })
    try {
      const r = await doctor(['--data-dir', dir], { ports: [lk.dashboardPort, lk.apiPort] })
      expect(r.line('dashboard port')).toBe(`· dashboard port    ${lk.dashboardPort} on 127.0.0.1 is in use, by the latchkey already running here (pid ${lk.proc.pid})`)
      expect(r.code).toBe(0)
    } finally {
      await lk.stop()
    }
  })

  it('warns about a network bind without a token, and fails a short fixed token', async () => {
    const open = await doctor(['--data-dir', dataDir(), '--host', '0.0.0.0', '--insecure-no-auth'])
    expect(open.code).toBe(1)
    expect(open.line('bind and token')).toMatch(/^! bind and token +listening on 0\.0\.0\.0 with --insecure-no-auth: .*\(fix: drop --insecure-no-auth/)
    const weak = await doctor(['--data-dir', dataDir(), '--host', '0.0.0.0'], { env: { LATCHKEY_AUTH_TOKEN: 'letmein' } })
    expect(weak.code).toBe(1)
    expect(weak.line('bind and token')).toContain('✗ bind and token    listening on 0.0.0.0 with a fixed token of only 7 characters')
  })

  it('reports tailscaled logged out, with the fix', async () => {
    const r = await doctor(['--data-dir', dataDir(), '--tailscale-socket', loggedOut.socketPath])
    expect(r.code).toBe(1)
    expect(r.line('tailscale socket')).toBe('! tailscale socket  tailscaled is running but logged out (fix: tailscale up)')
  })

  it('fails a missing tailscaled socket only when admins rely on Tailscale identity', async () => {
    const missing = join(root, 'nope.sock')
    const optional = await doctor(['--data-dir', dataDir(), '--tailscale-socket', missing])
    expect(optional.code).toBe(0)
    expect(optional.line('tailscale socket')).toStartWith(`· tailscale socket  tailscaled is not running at ${missing}`)
    const needed = await doctor(['--data-dir', dataDir({ 'latchkey.yaml': 'admins: ["123"]\n' }), '--tailscale-socket', missing])
    expect(needed.code).toBe(1)
    expect(needed.line('tailscale socket')).toStartWith(`✗ tailscale socket  tailscaled is not running at ${missing} (fix: start it`)
  })

  it('fails a tunnel tool missing from PATH when settings.json turns that tunnel on', async () => {
    const bin = join(root, 'bin-empty')
    mkdirSync(bin, { recursive: true })
    const optional = await doctor(['--data-dir', dataDir()], { path: `${bin}:${SYSTEM_PATH}` })
    expect(optional.line('cloudflared')).toStartWith('· cloudflared       cloudflared is not on PATH (needed only for the Cloudflare tunnel')
    const settings = JSON.stringify({ remoteAccess: { activeProvider: 'cloudflare', providers: { cloudflare: { enabled: true, quickTunnel: true } } } })
    const needed = await doctor(['--data-dir', dataDir({ 'settings.json': settings })], { path: `${bin}:${SYSTEM_PATH}` })
    expect(needed.code).toBe(1)
    expect(needed.line('cloudflared')).toStartWith('✗ cloudflared       cloudflared is not on PATH, and the Cloudflare tunnel is turned on in settings.json (fix: install it from https://')
  })

  it('reports a tunnel tool that cannot tell its version', async () => {
    const bin = join(root, 'bin-broken')
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, 'tailscale'), '#!/bin/sh\necho "tailscaled: broken install" >&2\nexit 1\n', { mode: 0o755 })
    const r = await doctor(['--data-dir', dataDir()], { path: `${bin}:${FAKES_BIN}:${SYSTEM_PATH}` })
    expect(r.code).toBe(1)
    expect(r.line('tailscale')).toBe(`! tailscale         ${join(bin, 'tailscale')} did not report a version (exit 1) (fix: reinstall it from https://tailscale.com/download)`)
  })

  it('explains how a phone connects while listening on loopback only', async () => {
    const r = await doctor(['--data-dir', dataDir(), '--host', '127.0.0.1'])
    expect(r.line('connect address')).toMatch(/^· connect address   none while listening on 127\.0\.0\.1: .*ssh -L (\d+):127\.0\.0\.1:\1 .*--host 100\.100\.1\.1$/)
  })

  describe('in a container', () => {
    const dockerRoot = () => {
      const dir = mkdtempSync(join(root, 'docker-root-'))
      writeFileSync(join(dir, '.dockerenv'), '')
      return dir
    }

    it('says latchkey will listen on all interfaces with the token required, not on loopback', async () => {
      const r = await doctor(['--data-dir', dataDir()], { env: { LATCHKEY_CONTAINER_ROOT: dockerRoot() } })
      expect(r.line('container')).toBe('✓ container         docker (from /.dockerenv): listening on all interfaces (0.0.0.0) so port mapping works, where a plain host would use 127.0.0.1; --host chooses')
      expect(r.line('bind and token')).toBe('✓ bind and token    listening on 0.0.0.0: remote access is on and other devices need a new random token at each start (always, in a container)')
      expect(r.line('dashboard port')).toMatch(/^✓ dashboard port    \d+ on 0\.0\.0\.0 is free$/)
      expect(r.out).not.toContain('no token needed')
      expect(r.code).toBe(0)
    })

    it('names the host the operator chose, and that a port mapping cannot reach loopback', async () => {
      const r = await doctor(['--data-dir', dataDir(), '--host', '127.0.0.1'], { env: { LATCHKEY_CONTAINER_ROOT: dockerRoot() } })
      expect(r.line('container')).toBe('· container         docker (from /.dockerenv): listening on 127.0.0.1 as you set it, so a port mapping cannot reach latchkey (only this container can)')
    })

    it('fails --insecure-no-auth alone (start-up refuses it), and warns once it is acknowledged for the container', async () => {
      const refused = await doctor(['--data-dir', dataDir(), '--insecure-no-auth'], { env: { LATCHKEY_CONTAINER_ROOT: dockerRoot() } })
      expect(refused.code).toBe(1)
      expect(refused.line('bind and token')).toBe('✗ bind and token    latchkey will not start: --insecure-no-auth is refused inside a container (fix: drop --insecure-no-auth (the token then guards it), or add --insecure-no-auth-in-container if every network that reaches this container is trusted)')
      const open = await doctor(['--data-dir', dataDir(), '--insecure-no-auth', '--insecure-no-auth-in-container'], { env: { LATCHKEY_CONTAINER_ROOT: dockerRoot() } })
      expect(open.code).toBe(1)
      expect(open.line('bind and token')).toMatch(/^! bind and token +listening on 0\.0\.0\.0 with --insecure-no-auth: /)
    })
  })
})
