/**
 * scripts/install.sh end to end: a local HTTP server (port 0) serves a real release folder
 * (built by scripts/release.ts for this machine's linux-x64 builds), once intact and once
 * with a tampered asset; the script installs into a temp prefix, or refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT, tempDir } from '../../helpers/latchkey.ts'
import pkg from '../../../package.json' with { type: 'json' }

const INSTALL = join(ROOT, 'scripts', 'install.sh')
let dir: string
let good: string
let tampered: string
let server: ReturnType<typeof Bun.serve>
const served: string[] = []

/** The x64 asset install.sh should pick here: the default build needs AVX2 (see install.sh). */
const hostArch = /^flags.*\savx2(\s|$)/m.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'x64' : 'x64-baseline'
const asset = (arch: string) => `latchkey-${pkg.version}-linux-${arch}`

beforeAll(() => {
  dir = tempDir('lk-install-')
  good = join(dir, 'good')
  const t0 = performance.now()
  const run = spawnSync(BUN, ['scripts/release.ts', '--only', 'linux-x64,linux-x64-baseline', '--outdir', good], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
  if (run.status !== 0) throw new Error(`release failed (${run.status}):\n${run.stdout}\n${run.stderr}`)
  console.log(`release --only linux-x64,linux-x64-baseline took ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  // The same release with one byte of every asset flipped, and the original SHA256SUMS.
  tampered = join(dir, 'tampered')
  mkdirSync(tampered)
  for (const name of readdirSync(good)) {
    copyFileSync(join(good, name), join(tampered, name))
    if (name === 'SHA256SUMS') continue
    const bytes = readFileSync(join(tampered, name))
    bytes[bytes.length - 100] ^= 0xff
    writeFileSync(join(tampered, name), bytes)
  }
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const [, which, file] = new URL(req.url).pathname.split('/')
      served.push(`${which}/${file}`)
      const root = which === 'good' ? good : which === 'tampered' ? tampered : null
      if (!root || !file || !existsSync(join(root, file))) return new Response('not found', { status: 404 })
      return new Response(Bun.file(join(root, file)))
    },
  })
}, 130_000)

afterAll(() => {
  server?.stop(true)
  rmSync(dir, { recursive: true, force: true })
})

/** Run install.sh with a clean environment: only HOME, PATH and what the test adds. */
function install(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [INSTALL, ...args], { env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}
const base = (which: string) => `http://127.0.0.1:${server.port}/${which}`
const sha = (file: string) => new Bun.CryptoHasher('sha256').update(readFileSync(file)).digest('hex')

describe('scripts/install.sh', () => {
  it('installs the verified asset for this machine into --prefix and says how to start it', async () => {
    const home = tempDir('lk-home-')
    const prefix = join(dir, 'prefix')
    const r = await install(['--prefix', prefix], { HOME: home, LATCHKEY_DOWNLOAD_BASE: base('good') })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const bin = join(prefix, 'bin', 'latchkey')
    expect(sha(bin)).toBe(sha(join(good, asset(hostArch))))
    expect(statSync(bin).mode & 0o777).toBe(0o755)
    expect(r.stdout).toContain(`Installed ${bin} (${asset(hostArch)}, sha256 verified)`)
    expect(r.stdout).toContain(`export PATH="${join(prefix, 'bin')}:$PATH"`)
    expect(r.stdout).toContain('doctor')
    expect(readdirSync(join(prefix, 'bin'))).toEqual(['latchkey'])
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' })
    expect(version.stdout).toMatch(new RegExp(`^latchkey ${pkg.version.replace(/\./g, '\\.')} \\(commit [0-9a-f]{12}, bun `))
    rmSync(home, { recursive: true, force: true })
  }, 30_000)

  it('refuses a tampered asset and installs nothing', async () => {
    const home = tempDir('lk-home-')
    const prefix = join(dir, 'tampered-prefix')
    const before = served.length
    const r = await install(['--prefix', prefix], { HOME: home, LATCHKEY_DOWNLOAD_BASE: base('tampered') })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(`Checksum mismatch for ${asset(hostArch)}`)
    expect(r.stderr).toContain('Nothing was installed')
    // It did download the asset (the refusal is the checksum's, not a 404's).
    expect(served.slice(before)).toEqual(['tampered/SHA256SUMS', `tampered/${asset(hostArch)}`])
    expect(existsSync(join(prefix, 'bin', 'latchkey'))).toBe(false)
    rmSync(home, { recursive: true, force: true })
  }, 30_000)

  it('uses wget and ~/.local/bin by default, and honours LATCHKEY_ARCH', async () => {
    const home = tempDir('lk-home-')
    const r = await install([], { HOME: home, LATCHKEY_DOWNLOAD_BASE: base('good'), LATCHKEY_DOWNLOADER: 'wget', LATCHKEY_ARCH: 'x64-baseline' })
    expect(r.code).toBe(0)
    expect(sha(join(home, '.local', 'bin', 'latchkey'))).toBe(sha(join(good, asset('x64-baseline'))))
    rmSync(home, { recursive: true, force: true })
  }, 30_000)

  it('refuses when the release has no build for this platform', async () => {
    const home = tempDir('lk-home-')
    const r = await install([], { HOME: home, LATCHKEY_DOWNLOAD_BASE: base('good'), LATCHKEY_ARCH: 'arm64' })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('The release has no build for linux-arm64')
    expect(existsSync(join(home, '.local'))).toBe(false)
    rmSync(home, { recursive: true, force: true })
  })

  it('refuses a plain-http base URL that is not this machine, before downloading anything', async () => {
    const home = tempDir('lk-home-')
    const r = await install([], { HOME: home, LATCHKEY_DOWNLOAD_BASE: 'http://downloads.invalid/latchkey' })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('use an https:// URL')
    rmSync(home, { recursive: true, force: true })
  })

  it('refuses a missing SHA256SUMS', async () => {
    const home = tempDir('lk-home-')
    const r = await install([], { HOME: home, LATCHKEY_DOWNLOAD_BASE: base('nowhere') })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('Cannot download')
    expect(existsSync(join(home, '.local'))).toBe(false)
    rmSync(home, { recursive: true, force: true })
  })
})
