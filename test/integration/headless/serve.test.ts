/**
 * `latchkey serve` (runbook §4.3): API only, the same /api/remote/*,
 * /api/remote-access/auth/login-url and /remote-login contracts and the same guard as the
 * dashboard mode; plain log lines on stdout (even in a terminal); exit codes for systemd:
 * 0 clean stop, 1 runtime failure, 2 configuration error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawn, spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { BUN, FAKES_BIN, ROOT, startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { canCreateNamespaces, createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { FAST, alive, newDirs, quickSettings, records, waitUntil } from '../tunnels/helpers.ts'
import { Pane, runtimeInfo, latchkeyCommand } from '../tui/pane.ts'

const MAIN = join(ROOT, 'src', 'main.ts')
// Supplied through the environment, as a systemd unit or a container would.
const TOKEN = 'serve-suite-supplied-token-0123456789'
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('latchkey serve: API only, same contracts and guard', () => {
  const dirs = newDirs()
  let peer: Peer
  let lk: Latchkey
  const api = (path: string) => `http://127.0.0.1:${lk.apiPort}${path}`
  const fromPeer = (path: string) => `http://${peer.hostAddress}:${lk.apiPort}${path}`

  beforeAll(async () => {
    if (!canCreateNamespaces()) throw new Error('these tests need root and iproute2 (network namespaces)')
    peer = createPeer()
    const dataDir = tempDir('lk-serve-')
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(quickSettings()))
    lk = await startLatchkey({
      dataDir,
      args: ['serve', '--host', '0.0.0.0', '--allowed-origins', peer.hostAddress],
      env: { ...FAST, LATCHKEY_AUTH_TOKEN: TOKEN, FAKE_CLOUDFLARED_RECORD_DIR: dirs.cfRecords, FAKE_TAILSCALE_STATE_DIR: dirs.tsState, LATCHKEY_TUNNEL_GRACE_MS: '1500' },
    })
  })

  afterAll(async () => {
    await lk?.stop()
    peer?.destroy()
  })

  it('opens no dashboard listener and answers the root path with a 404 that says why', async () => {
    expect(lk.dashboardPort).toBe(0)
    expect(lk.output()).not.toContain('dashboard  http://')
    for (const url of [api('/'), fromPeer('/')]) {
      const res = url.startsWith('http://127.') ? await curlFrom(null, url) : await peer.fetch(url)
      expect(res.status).toBe(404)
      expect(res.json()).toMatchObject({ error: 'headless', message: expect.stringContaining('serves no dashboard') })
    }
  })

  it('guards /api/remote/* from a namespace peer exactly as in dashboard mode', async () => {
    expect((await peer.fetch(fromPeer('/api/remote/status'))).status).toBe(401)
    expect((await peer.fetch(fromPeer('/api/remote/tunnel/start'), json({}))).status).toBe(401)
    const authed = await peer.fetch(fromPeer('/api/remote/status'), { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(authed.status).toBe(200)
    expect(authed.json()).toMatchObject({ state: 'stopped', provider: 'cloudflare', restore: { outcome: 'skipped' } })
    expect((await curlFrom(null, api('/api/remote/status'))).status).toBe(200)
  })

  it('starts and stops the tunnel with the same /api/remote endpoints', async () => {
    const started = await curlFrom(null, api('/api/remote/tunnel/start'), json({}))
    expect(started.status).toBe(202)
    let status: any
    const end = Date.now() + 10_000
    while (Date.now() < end) {
      status = (await curlFrom(null, api('/api/remote/status'))).json()
      if (status.state === 'running') break
      await Bun.sleep(50)
    }
    expect(status.state).toBe('running')
    expect(status.url).toMatch(/^https:\/\/[a-z-]+\.trycloudflare\.com$/)
    const stopped = await curlFrom(null, api('/api/remote/tunnel/stop'), json({}))
    expect(stopped.status).toBe(200)
    expect(stopped.json().state).toBe('stopped')
    expect(alive(status.pid)).toBe(false)
  })

  it('builds a login URL on the API port that signs the peer in through /remote-login', async () => {
    const res = await curlFrom(null, api('/api/remote-access/auth/login-url'), json({ mode: 'short-lived', oneTime: true }))
    expect(res.status).toBe(200)
    const link = res.json()
    expect(link.url).toStartWith(`http://${peer.hostAddress}:${lk.apiPort}/remote-login?rt=`)
    const login = await peer.fetch(link.url)
    expect(login.status).toBe(302)
    expect(login.headers.get('location')).toBe('/')
    const cookie = /latchkey_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0]
    expect((await peer.fetch(fromPeer('/api/remote/status'), { headers: { cookie } })).status).toBe(200)
    const again = await peer.fetch(link.url, { headers: { accept: 'application/json' } })
    expect(again.status).toBe(401)
    expect(again.json().error).toBe('remote_token_invalid')
    expect((await peer.fetch(fromPeer('/remote-login'), { headers: { accept: 'application/json' } })).json().error).toBe('remote_token_missing')
  })

  it('tells a browser with a dead login link to ask the machine running latchkey for a new one', async () => {
    const res = await peer.fetch(fromPeer('/remote-login?rt=not-a-real-token-at-all'), { headers: { accept: 'text/html' } })
    expect(res.status).toBe(401)
    expect(res.body).toContain('Login link not valid')
    expect(res.body).toContain('Next: on the machine running latchkey, ask it for a new login link (its start log shows the command, a POST to /api/remote-access/auth/login-url)')
    expect(res.body).not.toContain('Connect a device')
    expect(res.body).not.toContain('not-a-real-token-at-all')
  })

  it('never prints the supplied token, a link to port 0 or a dashboard panel', () => {
    const out = lk.output()
    expect(out).not.toContain(TOKEN)
    expect(out).not.toMatch(/:0\//)
    expect(out).not.toMatch(/panel/i)
    expect(out).not.toContain('must enter this token')
    expect(out).toContain('the access token you supplied (--auth-token / LATCHKEY_AUTH_TOKEN) is in force (not shown)')
  })

  it('prints a login-link command that works as printed, from this machine', async () => {
    const command = /^ {2}(curl .*\/api\/remote-access\/auth\/login-url)$/m.exec(lk.output())?.[1]
    expect(command).toContain(`http://127.0.0.1:${lk.apiPort}/api/remote-access/auth/login-url`)
    const ran = spawnSync('sh', ['-c', command!], { encoding: 'utf8', timeout: 10_000 })
    expect(ran.status).toBe(0)
    const link = JSON.parse(ran.stdout)
    expect(link.url).toStartWith(`http://${peer.hostAddress}:${lk.apiPort}/remote-login?rt=`)
    expect((await peer.fetch(link.url)).status).toBe(302)
  })

  it('logs plain timestamped lines to stdout', () => {
    const lines = lk.output().split('\n').filter((l) => /^\d{4}-\d\d-\d\dT/.test(l))
    expect(lines.some((l) => /^\S+Z INFO +ready api=\d+ tsi=\d+ cfi=\d+/.test(l))).toBe(true)
    for (const l of lines) expect(l).not.toContain('\x1b[')
  })
})

describe('latchkey serve with a random token', () => {
  it('never prints it: its output is a log', async () => {
    const lk = await startLatchkey({ args: ['serve', '--host', '0.0.0.0'] })
    try {
      const out = lk.output()
      expect(lk.token).toBeNull()
      expect(out).toContain("this run's access token is random and never shown (this output is a log)")
      // A random token is 43 URL-safe base64 characters; nothing of that shape is printed.
      expect(out).not.toMatch(/[A-Za-z0-9_-]{43}/)
      expect(out).not.toMatch(/:0\//)
      expect(out).not.toMatch(/panel|QR/i)
    } finally {
      await lk.stop()
    }
  })
})

describe('latchkey serve in a terminal', () => {
  it('shows no terminal interface, only log lines', async () => {
    const dataDir = tempDir('lk-serve-')
    const pane = new Pane({ cols: 140, rows: 40 })
    try {
      pane.type(`${latchkeyCommand(dataDir, ['--host', '127.0.0.1']).replace(/('[^']+main\.ts')/, '$1 serve')}; echo "exit=$?"`)
      const info = await runtimeInfo(dataDir)
      await pane.waitFor(/INFO +ready api=\d+/)
      expect(pane.alternateOn()).toBe(false)
      process.kill(info.pid, 'SIGINT')
      await pane.waitFor(/exit=0/)
    } finally {
      pane.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('latchkey serve exit codes', () => {
  const run = (args: string[], dataDir: string) =>
    spawnSync(BUN, [MAIN, 'serve', '--port', '0', '--api-port', '0', '--data-dir', dataDir, ...args], { encoding: 'utf8', timeout: 15000, env: { ...process.env, PATH: `${FAKES_BIN}:${process.env.PATH}` } })

  it('exits 2 on a configuration error, naming what is wrong', () => {
    const dataDir = tempDir('lk-serve-')
    try {
      const flag = run(['--bogus'], dataDir)
      expect(flag.status).toBe(2)
      expect(flag.stderr).toContain('Unknown option "--bogus"')
      writeFileSync(join(dataDir, 'latchkey.yaml'), 'port: 70000\n')
      const yaml = run([], dataDir)
      expect(yaml.status).toBe(2)
      expect(yaml.stderr).toMatch(/latchkey\.yaml: line 1/)
      rmSync(join(dataDir, 'latchkey.yaml'))
      writeFileSync(join(dataDir, 'settings.json'), '{ "remoteAccess": ')
      const settings = run([], dataDir)
      expect(settings.status).toBe(2)
      expect(settings.stderr).toContain('settings.json')
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('exits 1 when the API port is taken (systemd restarts it; 2 is for configuration errors)', async () => {
    const dataDir = tempDir('lk-serve-')
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    try {
      const port = (blocker.address() as { port: number }).port
      const res = spawnSync(BUN, [MAIN, 'serve', '--host', '127.0.0.1', '--api-port', String(port), '--data-dir', dataDir], { encoding: 'utf8', timeout: 15000 })
      expect(res.status).toBe(1)
      expect(res.stderr).toContain('is already in use (choose another with --api-port)')
    } finally {
      blocker.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('exits 0 on SIGTERM and on SIGINT', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const lk = await startLatchkey({ args: ['serve', '--host', '127.0.0.1'] })
      expect(await lk.stop(sig)).toBe(0)
    }
  })

  it('exits 1 after a runtime failure (an uncaught exception), stopping its tunnel first', async () => {
    const dataDir = tempDir('lk-serve-')
    const dirs = newDirs()
    const preload = join(dataDir, 'crash.ts')
    writeFileSync(preload, "process.on('SIGUSR2', () => setTimeout(() => { throw new Error('injected failure') }, 0))\n")
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(quickSettings()))
    const child = spawn(BUN, ['--preload', preload, MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--api-port', '0', '--data-dir', dataDir], {
      env: { ...process.env, PATH: `${FAKES_BIN}:${process.env.PATH}`, ...FAST, FAKE_CLOUDFLARED_RECORD_DIR: dirs.cfRecords, LATCHKEY_TUNNEL_GRACE_MS: '1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    child.stderr!.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    try {
      const info = await runtimeInfo(dataDir)
      await fetch(`http://127.0.0.1:${info.apiPort}/api/remote/tunnel/start`, json({}))
      await waitUntil(() => /tunnel running/.test(out), 10_000, 'the tunnel to run')
      const tunnelPid = records(dirs.cfRecords)[0].pid
      process.kill(info.pid, 'SIGUSR2')
      expect(await exited).toBe(1)
      expect(out).toMatch(/ERROR fatal error, stopping error="injected failure"/)
      expect(alive(tunnelPid)).toBe(false)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
