/**
 * `latchkey service install|uninstall` into a temp XDG_CONFIG_HOME: the systemd user unit
 * passes `systemd-analyze verify`, keeps secrets off its command line (env file, 0600), and
 * its command actually starts latchkey; the launchd agent's wrapper reads the env file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT, tempDir } from '../../helpers/latchkey.ts'
import { launchdAgent } from '../../../src/commands/service.ts'

const TOKEN = 'tok-0123456789abcdef-service'
const API_KEY = 'key-from-env-0123456789'
let home: string
let xdg: string
let unitPath: string
let envPath: string

beforeAll(() => {
  home = tempDir('lk-service-')
  xdg = join(home, 'xdg-config')
  unitPath = join(xdg, 'systemd', 'user', 'latchkey.service')
  envPath = join(xdg, 'latchkey', 'service.env')
})

afterAll(() => rmSync(home, { recursive: true, force: true }))

function latchkey(args: string[], env: Record<string, string> = {}) {
  return spawnSync(BUN, [join(ROOT, 'src', 'main.ts'), ...args], {
    cwd: home,
    encoding: 'utf8',
    env: { PATH: process.env.PATH!, HOME: home, XDG_CONFIG_HOME: xdg, ...env },
  })
}

/** systemd's ExecStart= words (the unit quotes with "..." only where needed). */
function execStart(unit: string): string[] {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length)
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]).replace(/%%/g, '%').replace(/\$\$/g, '$'))
}

describe('latchkey service (systemd)', () => {
  it('writes a user unit running serve with the current flags, and the secrets to a 0600 env file', () => {
    const r = latchkey(['service', 'install', '--host', '127.0.0.1', '--api-port', '0', '--data-dir', 'state dir', '--auth-token', TOKEN], { LATCHKEY_API_KEY: API_KEY, LATCHKEY_PORT: '3999' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`Wrote ${unitPath}`)
    expect(r.stdout).toContain('systemctl --user enable --now latchkey.service')
    const unit = readFileSync(unitPath, 'utf8')
    expect(execStart(unit)).toEqual([process.execPath, join(ROOT, 'src', 'main.ts'), 'serve', '--host', '127.0.0.1', '--api-port', '0', '--data-dir', join(home, 'state dir')])
    expect(unit).toContain(`EnvironmentFile=${envPath}`)
    expect(unit).not.toContain(TOKEN)
    expect(unit).not.toContain(API_KEY)
    expect(statSync(envPath).mode & 0o777).toBe(0o600)
    const envFile = readFileSync(envPath, 'utf8')
    expect(envFile).toContain(`LATCHKEY_AUTH_TOKEN=${TOKEN}\n`)
    expect(envFile).toContain(`LATCHKEY_API_KEY=${API_KEY}\n`)
    // The headless serve has no dashboard port: a LATCHKEY_PORT in the shell is left out.
    expect(envFile).not.toContain('LATCHKEY_PORT')
  })

  it('writes a unit that restarts after a runtime failure (exit 1, a port in use included) but not after a configuration error (exit 2)', () => {
    const unit = readFileSync(unitPath, 'utf8')
    expect(unit).toContain('\nRestart=on-failure\n')
    expect(unit).toContain('\nRestartPreventExitStatus=2\n')
  })

  it('writes a unit that systemd-analyze verify accepts without warnings', () => {
    if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0) {
      console.log('note: systemd-analyze is not installed (scripts/test.sh installs it): unit verification skipped')
      return
    }
    const runtimeDir = join(home, 'runtime')
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 })
    const r = spawnSync('systemd-analyze', ['--user', 'verify', unitPath], { encoding: 'utf8', env: { PATH: process.env.PATH!, HOME: home, XDG_CONFIG_HOME: xdg, XDG_RUNTIME_DIR: runtimeDir } })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('starts latchkey with the unit\'s command and env file, as systemd would', async () => {
    const argv = execStart(readFileSync(unitPath, 'utf8'))
    // What EnvironmentFile= does, done by sh: export every assignment in the file.
    const child = spawn('sh', ['-c', 'set -a; . "$0"; set +a; exec "$@"', envPath, ...argv], { cwd: '/', env: { PATH: process.env.PATH!, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    try {
      const deadline = Date.now() + 15_000
      let m: RegExpMatchArray | null = null
      while (!(m = out.match(/ready(?: dashboard=\d+)? api=(\d+)/)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(m).not.toBeNull()
      const health = await fetch(`http://127.0.0.1:${m![1]}/api/health`)
      expect(health.status).toBe(200)
      // The API key came from the env file: it is the admin credential.
      const whoami = await fetch(`http://127.0.0.1:${m![1]}/api/whoami`, { headers: { authorization: `Bearer ${API_KEY}`, 'x-forwarded-for': '203.0.113.9' } })
      expect(whoami.status).toBe(200)
      expect(await whoami.json()).toMatchObject({ authenticated: true, role: 'admin' })
      const control = await fetch(`http://127.0.0.1:${m![1]}/api/whoami`, { headers: { authorization: 'Bearer not-the-key-0123456789', 'x-forwarded-for': '203.0.113.9' } })
      expect(await control.json()).toMatchObject({ authenticated: false })
      expect(existsSync(join(home, 'state dir', 'settings.json'))).toBe(true)
      expect(out).not.toContain(TOKEN)
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.on('exit', r))
    }
  }, 30_000)

  it('refuses to install a service whose configuration would not start', () => {
    const other = join(home, 'other-xdg')
    const r = latchkey(['service', 'install', '--config', join(home, 'no-such.yaml')], { XDG_CONFIG_HOME: other })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`Cannot read ${join(home, 'no-such.yaml')}: no such file (check --config)`)
    expect(existsSync(join(other, 'systemd'))).toBe(false)
  })

  it('refuses --port, which means nothing to the headless "latchkey serve" it runs, and writes nothing', () => {
    const other = join(home, 'port-xdg')
    const r = latchkey(['service', 'install', '--host', '0.0.0.0', '--port', '3000'], { XDG_CONFIG_HOME: other })
    expect(r.status).toBe(2)
    expect(r.stderr).toBe('latchkey: Cannot install the service with --port: the service runs "latchkey serve", which has no dashboard (API only); set the API port with --api-port\n')
    expect(existsSync(join(other, 'systemd'))).toBe(false)
  })

  it('removes the unit and the env file on uninstall, and says when there is nothing left', () => {
    const r = latchkey(['service', 'uninstall'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`Removed ${unitPath}`)
    expect(r.stdout).toContain(`Removed ${envPath}`)
    expect(existsSync(unitPath)).toBe(false)
    expect(existsSync(envPath)).toBe(false)
    const again = latchkey(['service', 'uninstall'])
    expect(again.status).toBe(0)
    expect(again.stdout).toContain('Nothing to remove')
  })

  it('rejects a missing or unknown action with the usage line', () => {
    const r = latchkey(['service', 'start'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('Usage: latchkey service install [options] | latchkey service uninstall')
  })
})

describe('latchkey service (launchd agent)', () => {
  it('keeps secrets out of the plist and loads them from the env file through its sh wrapper', () => {
    const envFile = join(home, 'launchd & co', 'service.env')
    mkdirSync(join(home, 'launchd & co'), { recursive: true })
    writeFileSync(envFile, `LATCHKEY_AUTH_TOKEN=${TOKEN}\n`, { mode: 0o600 })
    const plist = launchdAgent(['/usr/bin/env'], envFile, join(home, 'latchkey.log'))
    expect(plist).not.toContain(TOKEN)
    expect(plist).toContain('<string>/Users/x</string>'.replace('/Users/x', join(home, 'launchd &amp; co', 'service.env')))
    // Run ProgramArguments as launchd would: the command sees the token in its environment.
    const array = plist.match(/<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/)![1]
    const program = [...array.matchAll(/<string>(.*?)<\/string>/g)].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&'))
    const r = spawnSync(program[0], program.slice(1), { encoding: 'utf8', env: {} })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`LATCHKEY_AUTH_TOKEN=${TOKEN}`)
  })
})
