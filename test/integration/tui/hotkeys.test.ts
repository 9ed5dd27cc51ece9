/**
 * The TUI in a real pseudo-terminal (tmux): screen contents after each hotkey of runbook §4.2,
 * against latchkey from source with the fake cloudflared/tailscale. Each action is checked
 * through the API too (status, tokens that really log in), so the screen cannot pass alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../../helpers/latchkey.ts'
import { FAST, freePort, newDirs, records } from '../tunnels/helpers.ts'
import { Pane, alive, decodeScreenQr, latchkeyCommand, runtimeInfo, type RuntimeInfo } from './pane.ts'

const dirs = newDirs()
const env = { ...FAST, FAKE_CLOUDFLARED_RECORD_DIR: dirs.cfRecords, FAKE_TAILSCALE_RECORD_DIR: dirs.tsRecords, FAKE_TAILSCALE_STATE_DIR: dirs.tsState, LATCHKEY_TUNNEL_GRACE_MS: '1500' }

function settingsFor(remember: boolean) {
  return {
    remoteAccess: {
      enabled: true,
      activeProvider: 'cloudflare',
      providers: {
        cloudflare: { enabled: true, quickTunnel: true },
        tailscale: { enabled: true, hostname: 'host.tailnet.ts.net', targetPort: freePort() },
      },
      lifecycle: { rememberLastRunning: remember },
    },
  }
}

async function api(info: RuntimeInfo, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${info.apiPort}/api${path}`, {
    method,
    headers: method === 'GET' ? {} : { 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  })
  return res.json()
}

/** Use a login token on the dashboard listener: 302 when it is valid, 401 otherwise. */
async function login(info: RuntimeInfo, rt: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${info.dashboardPort}/remote-login?rt=${encodeURIComponent(rt)}`, { redirect: 'manual', headers: { accept: 'application/json' } })
  return res.status
}

const settingsJson = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8'))
/** The screen minus the QR panel on the right. */
const leftOf = (screen: string) => screen.split('\n').map((l) => l.split(' │ ')[0]).join('\n')

describe('TUI hotkeys', () => {
  const dataDir = tempDir('lk-tui-')
  let pane: Pane
  let info: RuntimeInfo

  beforeAll(async () => {
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settingsFor(false)))
    pane = new Pane({ cols: 200, rows: 50, env })
    pane.type(`${latchkeyCommand(dataDir, ['--host', '0.0.0.0', '--allowed-origins', '192.168.1.42'])}; echo "exit=$?"`)
    info = await runtimeInfo(dataDir)
    await pane.waitFor(/Tunnel +STOPPED[\s\S]*Recent events[\s\S]*ready dashboard=/)
  })

  afterAll(() => {
    try {
      if (info && alive(info.pid)) process.kill(info.pid, 'SIGKILL')
    } catch {}
    for (const r of records(dirs.cfRecords)) if (alive(r.pid)) process.kill(r.pid, 'SIGKILL')
    pane?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('shows remote-access status, providers, the banner, a scannable connect QR and recent events at start', async () => {
    const screen = pane.screen()
    expect(pane.alternateOn()).toBe(true)
    expect(screen).toContain('Remote access  enabled')
    expect(screen).toMatch(/Tunnel +STOPPED +· +cloudflare/)
    expect(screen).toMatch(/ > cloudflare +active · ready \(quick tunnel\)/)
    expect(screen).toMatch(/ {3}tailscale +ready/)
    expect(screen).toContain(`api        http://127.0.0.1:${info.apiPort}/api`)
    expect(screen).toMatch(/INFO +ready dashboard=\d+/)
    const token = /Access token +(\S+)/.exec(screen)![1]
    const link = `http://192.168.1.42:${info.dashboardPort}/?token=${token}`
    expect(screen).toMatch(new RegExp(`^Connect link +${link.replace(/[.?]/g, '\\$&')}`, 'm'))
    expect(decodeScreenQr(screen, /Scan to connect/)).toBe(link)
    // The log lines go to the screen, never printed over it.
    expect(screen).not.toMatch(/^\d{4}-\d\d-\d\dT/m)
  })

  it('selects a provider with the arrow keys and activates it with C', async () => {
    pane.keys('Down', 'c')
    await pane.waitFor(/ > tailscale +active ·/)
    expect((await api(info, 'GET', '/remote/status')).provider).toBe('tailscale')
    expect(settingsJson(dataDir).remoteAccess.activeProvider).toBe('tailscale')
    pane.keys('Up', 'c')
    await pane.waitFor(/ > cloudflare +active ·[\s\S]*Active provider: cloudflare/)
    expect(settingsJson(dataDir).remoteAccess.activeProvider).toBe('cloudflare')
  })

  it('starts the tunnel with V and shows its URL', async () => {
    pane.keys('v')
    const screen = await pane.waitFor(/Tunnel +RUNNING/)
    const url = /URL +(https:\/\/\S+\.trycloudflare\.com)/.exec(screen)![1]
    const status = await api(info, 'GET', '/remote/status')
    expect(status.state).toBe('running')
    expect(status.url).toBe(url)
  })

  it('shows an authenticated URL with U whose token signs a device in', async () => {
    pane.keys('u')
    const screen = await pane.waitFor(/Authenticated URL ready/)
    const { url } = await api(info, 'GET', '/remote/status')
    const rt = new RegExp(`${url.replace(/\./g, '\\.')}/remote-login\\?rt=(\\S+)`).exec(leftOf(screen))![1]
    expect(await login(info, rt)).toBe(302)
  })

  it('draws a scannable one-time login QR with K', async () => {
    pane.keys('k')
    // The title can be on screen a frame before the whole code is: wait until it reads.
    const screen = await pane.waitFor((s) => /Login QR · one-time/.test(s) && decodeScreenQr(s, /Login QR · one-time/) !== null)
    const decoded = decodeScreenQr(screen, /Login QR · one-time/)
    const { url } = await api(info, 'GET', '/remote/status')
    expect(decoded).toStartWith(`${url}/remote-login?rt=`)
    const rt = new URL(decoded!).searchParams.get('rt')!
    expect(await login(info, rt)).toBe(302)
    expect(await login(info, rt)).toBe(401)
    pane.keys('Escape')
    await pane.waitFor((s) => !s.includes('Login QR ·') && s.includes('Scan to connect'))
  })

  it('asks for a TTL with L, cancels on Escape, and generates a short-lived token on Enter', async () => {
    pane.keys('l')
    await pane.waitFor(/Short-lived token TTL in minutes \(Enter = 15, Esc cancels\):/)
    pane.keys('Escape')
    await pane.waitFor(/ Cancelled\s*$/m)
    pane.keys('l', '7', 'Enter')
    const screen = leftOf(await pane.waitFor(/Short-lived token \(7 min, expires/))
    const token = /Short-lived token \(7 min[^\n]*\n\s*(\S+)/.exec(screen)![1]
    expect(screen).toContain(`/remote-login?rt=${token}`)
    expect(await login(info, token)).toBe(302)
  })

  it('regenerates the persistent token with P, so the old one stops working', async () => {
    const before = await api(info, 'POST', '/remote-access/auth/login-url', { mode: 'persistent' })
    const old = new URL(before.url).searchParams.get('rt')!
    pane.keys('p')
    await pane.waitFor(/Persistent token regenerated: \S+/)
    expect(await login(info, old)).toBe(401)
    const now = settingsJson(dataDir).remoteAccess.tokenStrategy.persistent.token
    expect(now).not.toBe(old)
    expect(await login(info, now)).toBe(302)
  })

  it('stops the tunnel with X', async () => {
    const pid = (await api(info, 'GET', '/remote/status')).pid
    pane.keys('x')
    await pane.waitFor(/Tunnel +STOPPED[\s\S]*Tunnel stopped/)
    expect((await api(info, 'GET', '/remote/status')).state).toBe('stopped')
    expect(alive(pid)).toBe(false)
  })

  it('refreshes the status with R', async () => {
    await api(info, 'POST', '/remote/tunnel/start')
    pane.keys('r')
    await pane.waitFor(/Tunnel +RUNNING[\s\S]* Refreshed/)
  })

  it('shows the help with ? and closes it with any key', async () => {
    pane.keys('?')
    const screen = await pane.waitFor(/Hotkeys/)
    for (const line of ['C  activate selected provider', 'V  start tunnel', 'X  stop tunnel', 'P  regenerate persistent token', 'L  short-lived token', 'U  show the authenticated URL', 'K  show the QR payload', 'R  refresh remote status', '?  help', 'Q  quit']) {
      expect(screen).toContain(line)
    }
    pane.keys('z')
    await pane.waitFor((s) => !s.includes('Hotkeys') && s.includes('Recent events'))
  })

  it('redraws at the new size when the terminal is resized', async () => {
    pane.resize(100, 30)
    const screen = await pane.waitFor((s) => s.split('\n')[1] === '─'.repeat(100))
    const lines = screen.split('\n')
    expect(lines[0]).toMatch(/^ latchkey .*Q quit {2}\? help$/)
    expect(lines[0].length).toBe(100)
    expect(lines[28]).toStartWith(' C activate  V start  X stop')
    pane.resize(200, 50)
    await pane.waitFor((s) => s.split('\n')[1] === '─'.repeat(200))
  })

  it('quits with Q: stops the tunnel, clears the restart marker, gives the terminal back and exits 0', async () => {
    const pid = (await api(info, 'GET', '/remote/status')).pid
    expect(alive(pid)).toBe(true)
    pane.keys('q')
    await pane.waitFor(/exit=0/)
    expect(pane.alternateOn()).toBe(false)
    expect(alive(pid)).toBe(false)
    expect(alive(info.pid)).toBe(false)
    expect(settingsJson(dataDir).remoteAccess.lifecycle.wasRunningOnShutdown).toBe(false)
    pane.type('stty -a | tr -s " " "\\n" | grep -xE -- "-?(icanon|echo|isig)" | paste -sd, -')
    await pane.waitFor(/^icanon,isig,echo$|^isig,icanon,echo$/m)
  })
})

describe('TUI quit with rememberLastRunning', () => {
  it('keeps the restart marker so the next start restores the tunnel, and still stops the child', async () => {
    const dataDir = tempDir('lk-tui-')
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settingsFor(true)))
    const pane = new Pane({ cols: 160, rows: 45, env })
    try {
      pane.type(`${latchkeyCommand(dataDir, ['--host', '127.0.0.1'])}; echo "exit=$?"`)
      const info = await runtimeInfo(dataDir)
      await pane.waitFor(/On quit        tunnel stops; restarted next time \(rememberLastRunning\)/)
      pane.keys('v')
      await pane.waitFor(/Tunnel +RUNNING/)
      const pid = (await api(info, 'GET', '/remote/status')).pid
      pane.keys('q')
      await pane.waitFor(/exit=0/)
      expect(alive(pid)).toBe(false)
      const lc = settingsJson(dataDir).remoteAccess.lifecycle
      expect(lc.wasRunningOnShutdown).toBe(true)
      expect(lc.lastRunningProvider).toBe('cloudflare')
    } finally {
      pane.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
