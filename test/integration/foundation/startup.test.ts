/** What a user sees when starting latchkey: banner, token, QR, warnings, errors, shutdown. */
import { describe, expect, it } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { BUN, ROOT, startLatchkey, tempDir } from '../../helpers/latchkey.ts'
import { curlFrom } from '../../helpers/netns.ts'

// The test machine may be a container: look for container markers where there are none.
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(BUN, [join(ROOT, 'src', 'main.ts'), ...args], { encoding: 'utf8', env: { ...process.env, LATCHKEY_CONTAINER_ROOT: join(ROOT, 'test'), container: '', ...env }, timeout: 15000 })

describe('startup', () => {
  it('starts with no config on loopback, without a token banner', async () => {
    const lk = await startLatchkey()
    try {
      expect(lk.output()).toContain('Listening on 127.0.0.1 only')
      expect(lk.token).toBeNull()
      expect((await curlFrom(null, lk.url('/api/health'))).status).toBe(200)
    } finally {
      await lk.stop()
    }
  })

  it('prints the token once, the connect link and a terminal QR when remote access is on', async () => {
    const lk = await startLatchkey({ args: ['--host', '0.0.0.0', '--allowed-origins', 'laptop.tailnet.ts.net,192.168.1.42'] })
    try {
      const out = lk.output()
      expect(out).toContain('Remote access is ON. Other devices must enter this token:')
      expect(out).toContain(`http://laptop.tailnet.ts.net:${lk.dashboardPort}/?token=${lk.token}`)
      expect(out).toMatch(/[▀▄█]{5,}/)
      expect(out.split(lk.token!).length - 1).toBe(2) // the token line and the link, nothing else
      expect(out).toContain('The token is shown once')
    } finally {
      await lk.stop()
    }
  })

  it('uses LATCHKEY_AUTH_TOKEN, and --auth-token over it', async () => {
    const a = await startLatchkey({ args: ['--host', '0.0.0.0'], env: { LATCHKEY_AUTH_TOKEN: 'env-token-0123456789abcdef' } })
    const b = await startLatchkey({ args: ['--host', '0.0.0.0', '--auth-token', 'flag-token-0123456789abcdef'], env: { LATCHKEY_AUTH_TOKEN: 'env-token-0123456789abcdef' } })
    try {
      expect(a.token).toBe('env-token-0123456789abcdef')
      expect(b.token).toBe('flag-token-0123456789abcdef')
      expect(b.output()).toContain('The token is fixed')
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('warns prominently with --insecure-no-auth', async () => {
    const lk = await startLatchkey({ args: ['--host', '0.0.0.0', '--insecure-no-auth'] })
    try {
      expect(lk.output()).toContain('WARNING: --insecure-no-auth')
      expect(lk.token).toBeNull()
    } finally {
      await lk.stop()
    }
  })

  it('says to type the token when no concrete address can be found', async () => {
    const lk = await startLatchkey({ args: ['--host', '::'] })
    try {
      // With no --allowed-origins the primary IPv4 is used; this machine may or may not have one.
      expect(lk.output()).toMatch(/open this link|type the token on the other device/)
    } finally {
      await lk.stop()
    }
  })

  it('shuts down within 2 s on SIGINT and on SIGTERM, releasing the data dir', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const dataDir = tempDir()
      const lk = await startLatchkey({ dataDir })
      const t0 = Date.now()
      const code = await lk.stop(sig)
      expect(Date.now() - t0).toBeLessThan(2000)
      expect(code).toBe(0)
      const again = await startLatchkey({ dataDir })
      await again.stop()
    }
  })

  it('refuses a second latchkey on the same data dir', async () => {
    const dataDir = tempDir()
    const lk = await startLatchkey({ dataDir })
    try {
      const r = run(['--data-dir', dataDir, '--port', '0', '--api-port', '0'])
      expect(r.status).toBe(2)
      expect(r.stderr).toContain(`another latchkey (pid ${lk.proc.pid}) is using this data folder`)
    } finally {
      await lk.stop()
    }
  })
})

describe('configuration errors', () => {
  it('exits 2 with one line naming the file, line and key for an unknown YAML key', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'latchkey.yaml'), 'host: 127.0.0.1\napiport: 9000\n')
    const r = run(['--data-dir', dir])
    expect(r.status).toBe(2)
    expect(r.stderr.trim()).toBe(`latchkey: Cannot read ${join(dir, 'latchkey.yaml')}: line 2, column 1: unknown key "apiport": did you mean "apiPort"?`)
  })

  it('exits 2 on a broken settings.json and leaves it as it was', () => {
    const dir = tempDir()
    const broken = '{"remoteAccess": {"enabled": yes}}'
    writeFileSync(join(dir, 'settings.json'), broken)
    const r = run(['--data-dir', dir])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('settings.json: line 1, column 30: invalid JSON')
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(broken)
  })

  it('exits 2 on a settings.json with a __proto__, constructor or prototype key, naming it and its position, and leaves it as it was', () => {
    const cases: [string, string, string][] = [
      ['{\n  "remoteAccess": {\n    "__proto__": { "enabled": true }\n  }\n}\n', 'remoteAccess.__proto__', 'line 3, column 18'],
      ['{\n  "preferences": {\n    "constructor": { "theme": "dark" }\n  }\n}\n', 'preferences.constructor', 'line 3, column 20'],
      ['{"preferences": {"prototype": {}}}', 'preferences.prototype', 'line 1, column 31'],
    ]
    for (const [text, field, at] of cases) {
      const dir = tempDir()
      writeFileSync(join(dir, 'settings.json'), text)
      const r = run(['--data-dir', dir, '--port', '0', '--api-port', '0'])
      expect(r.status).toBe(2)
      expect(r.stderr.trim()).toBe(`latchkey: Cannot read ${join(dir, 'settings.json')}: ${at}: "${field}" is not allowed: __proto__, constructor and prototype cannot be keys (fix or remove the file; latchkey will not overwrite it)`)
      expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(text)
    }
  })

  it('exits 2 for an unknown flag and a bad port', () => {
    expect(run(['--hots', 'x']).status).toBe(2)
    const r = run(['--api-port', '65536'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('"apiPort" must be a port number')
  })

  it('exits 1 (a runtime failure, not a configuration error) with the flag to change when the port is taken', async () => {
    const lk = await startLatchkey()
    try {
      const r = run(['--data-dir', tempDir(), '--port', String(lk.dashboardPort), '--api-port', '0'])
      expect(r.status).toBe(1)
      expect(r.stderr).toContain(`Cannot listen on 127.0.0.1:${lk.dashboardPort}: the port is already in use (choose another with --port)`)
    } finally {
      await lk.stop()
    }
  })

  it('prints help with every flag and its env var, and the version', () => {
    const help = run(['--help'])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('--api-base')
    expect(help.stdout).toContain('LATCHKEY_API_BASE')
    expect(run(['--version']).stdout).toMatch(/^latchkey \d+\.\d+\.\d+ \(commit \S+, bun /)
  })
})
