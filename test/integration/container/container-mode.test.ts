/**
 * latchkey in a container (markers in a temporary root, through LATCHKEY_CONTAINER_ROOT, or
 * `container` in the environment): with no host given it binds 0.0.0.0 and says why in the
 * banner; the guard is on (a namespace peer without a token gets 401, with it 200); an
 * explicit host wins; `--insecure-no-auth` alone is refused, and starts open only when the
 * operator also passes `--insecure-no-auth-in-container` (flag or env, never latchkey.yaml); with
 * `adminAllowLocalhost` the warning names the container bridge range and private peers are admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, type Peer } from '../../helpers/netns.ts'
import { BUN, ROOT, startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'

let peer: Peer
const dockerRoot = tempDir('lk-docker-root-')
writeFileSync(join(dockerRoot, '.dockerenv'), '')
const plainRoot = tempDir('lk-plain-root-')
const noSocket = join(tempDir('lk-nosock-'), 'tailscaled.sock')

beforeAll(() => {
  peer = createPeer()
})
afterAll(() => {
  peer?.destroy()
})

/** Run latchkey to completion (for start-up refusals). */
function run(args: string[], env: Record<string, string>) {
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('LATCHKEY_') && k !== 'container') clean[k] = v
  return spawnSync(BUN, [join(ROOT, 'src', 'main.ts'), '--data-dir', tempDir(), '--port', '0', '--api-port', '0', ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 15000 })
}

describe('detected from /.dockerenv, no host given', () => {
  let lk: Latchkey
  beforeAll(async () => {
    lk = await startLatchkey({ env: { LATCHKEY_CONTAINER_ROOT: dockerRoot } })
  })
  afterAll(async () => {
    await lk?.stop()
  })

  it('binds 0.0.0.0 and says in the banner that it detected a container and why', () => {
    expect(lk.output()).toContain('Container detected (docker, from /.dockerenv): listening on 0.0.0.0 so port mapping works (set --host or LATCHKEY_HOST to choose); the access token is always required.')
    expect(lk.output()).toMatch(/INFO\s+ready .* host=0\.0\.0\.0/)
    expect(lk.output()).toContain('Remote access is ON')
    expect(lk.token).toMatch(/^\S{20,}$/)
  })

  it('is reachable from a namespace peer, and the guard is on: 401 without the token, 200 with it', async () => {
    const url = `http://${peer.hostAddress}:${lk.dashboardPort}`
    expect((await peer.fetch(`${url}/api/health`)).status).toBe(200)
    for (const path of ['/api/connect', '/api/remote/status', '/api/preferences', '/api/webhooks']) {
      const res = await peer.fetch(`${url}${path}`)
      expect(res.status).toBe(401)
    }
    const apiRes = await peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/api/remote/status`)
    expect(apiRes.status).toBe(401)
    const withToken = await peer.fetch(`${url}/api/remote/status`, { headers: { authorization: `Bearer ${lk.token}` } })
    expect(withToken.status).toBe(200)
  })
})

describe('an explicit host wins', () => {
  it('--host 127.0.0.1: loopback only, and the banner says --host chose it', async () => {
    const lk = await startLatchkey({ args: ['--host', '127.0.0.1'], env: { LATCHKEY_CONTAINER_ROOT: dockerRoot } })
    try {
      expect(lk.output()).toContain('Container detected (docker, from /.dockerenv): listening on 127.0.0.1 as --host says; the access token is always required.')
      expect(lk.output()).toMatch(/INFO\s+ready .* host=127\.0\.0\.1/)
      await expect(peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/health`, { timeoutMs: 3000 })).rejects.toThrow()
    } finally {
      await lk.stop()
    }
  })

  it('LATCHKEY_HOST chooses the address, and the banner names it', async () => {
    const lk = await startLatchkey({ env: { LATCHKEY_CONTAINER_ROOT: dockerRoot, LATCHKEY_HOST: peer.hostAddress } })
    try {
      expect(lk.output()).toContain(`listening on ${peer.hostAddress} as LATCHKEY_HOST says`)
      expect((await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/connect`)).status).toBe(401)
    } finally {
      await lk.stop()
    }
  })
})

describe('never starts open unless the operator says so for the container', () => {
  it.each([
    [['--insecure-no-auth'], {}],
    [['--insecure-no-auth', '--host', '0.0.0.0'], {}],
    [[], { LATCHKEY_INSECURE_NO_AUTH: '1' }],
    [['--insecure-no-auth', '--insecure-no-auth-in-container=false'], {}],
  ])('refuses %j %j with exit 2, the reason and the way out', (args, env) => {
    const r = run(args as string[], { LATCHKEY_CONTAINER_ROOT: dockerRoot, ...(env as Record<string, string>) })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('latchkey: Cannot start with --insecure-no-auth inside a container (detected from /.dockerenv): a port mapping publishes latchkey beyond this machine')
    expect(r.stderr).toContain('add --insecure-no-auth-in-container (LATCHKEY_INSECURE_NO_AUTH_IN_CONTAINER=1)')
    expect(r.stdout).not.toContain('ready')
  })

  it('refuses it when `container` names the runtime in the environment too', () => {
    const r = run(['--insecure-no-auth'], { LATCHKEY_CONTAINER_ROOT: plainRoot, container: 'podman' })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('inside a container (detected from the "container" environment variable)')
  })

  it('does not read the acknowledgement from latchkey.yaml (a file shared with a host must not open a container)', () => {
    const dataDir = tempDir()
    writeFileSync(join(dataDir, 'latchkey.yaml'), 'insecureNoAuth: true\ninsecureNoAuthInContainer: true\n')
    const r = spawnSync(BUN, [join(ROOT, 'src', 'main.ts'), '--data-dir', dataDir, '--port', '0', '--api-port', '0'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH!, HOME: dataDir, LATCHKEY_CONTAINER_ROOT: dockerRoot },
      timeout: 15000,
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('line 2, column 1: unknown key "insecureNoAuthInContainer"')
  })

  it.each([
    ['the flag', ['--insecure-no-auth', '--insecure-no-auth-in-container'], {}],
    ['the environment', [], { LATCHKEY_INSECURE_NO_AUTH: '1', LATCHKEY_INSECURE_NO_AUTH_IN_CONTAINER: '1' }],
  ])('starts open when %s says so for the container, with the same loud warning', async (_how, args, env) => {
    const lk = await startLatchkey({ args: args as string[], env: { LATCHKEY_CONTAINER_ROOT: dockerRoot, ...(env as Record<string, string>) } })
    try {
      expect(lk.output()).toContain('Container detected (docker, from /.dockerenv): listening on 0.0.0.0 so port mapping works (set --host or LATCHKEY_HOST to choose); NO access token on direct listeners (--insecure-no-auth-in-container).')
      expect(lk.output()).toContain('⚠ WARNING: --insecure-no-auth — the dashboard is exposed to the')
      expect(lk.output()).toMatch(/WARN\s+--insecure-no-auth in a container \(allowed by --insecure-no-auth-in-container\)/)
      expect(lk.output()).not.toContain('the access token is always required')
      const res = await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/remote/status`)
      expect(res.status).toBe(200)
    } finally {
      await lk.stop()
    }
  })
})

describe('adminAllowLocalhost in a container', () => {
  let lk: Latchkey
  beforeAll(async () => {
    lk = await startLatchkey({
      args: ['--tailscale-socket', noSocket],
      env: { LATCHKEY_CONTAINER_ROOT: plainRoot, container: 'docker' },
      yaml: 'admins:\n  - "12345"\nadminAllowLocalhost: true\n',
    })
  })
  afterAll(async () => {
    await lk?.stop()
  })

  it('warns that the container bridge range (172.16.0.0/12, part of RFC 1918) is admitted', () => {
    expect(lk.output()).toContain('Container detected (docker, from the "container" environment variable): listening on 0.0.0.0')
    expect(lk.output()).toMatch(/WARN\s+adminAllowLocalhost in a container: peers on the container bridge \(172\.16\.0\.0\/12, part of RFC 1918\)/)
  })

  it('admits a private-network peer as admin, as port mapping needs', async () => {
    const who = (await peer.fetch(`http://${peer.hostAddress}:${lk.dashboardPort}/api/whoami`)).json()
    expect(who).toMatchObject({ role: 'admin', method: 'private-network', address: peer.peerAddress })
  })
})

describe('no container', () => {
  it('keeps the loopback default and prints no container line', async () => {
    const lk = await startLatchkey({ env: { LATCHKEY_CONTAINER_ROOT: plainRoot } })
    try {
      expect(lk.output()).not.toContain('Container detected')
      expect(lk.output()).toMatch(/INFO\s+ready .* host=127\.0\.0\.1/)
    } finally {
      await lk.stop()
    }
  })
})
