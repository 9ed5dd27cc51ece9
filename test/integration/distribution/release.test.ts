/**
 * scripts/release.ts on a subset (linux-arm64 only: all six targets belong in
 * `npm run release`, not in every test run), and the arm64 binary started for real under
 * qemu-aarch64-static: --version, then `serve` answering /api/health on a port-0 listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT, startLatchkey, tempDir } from '../../helpers/latchkey.ts'
import pkg from '../../../package.json' with { type: 'json' }

const QEMU = 'qemu-aarch64-static'
// Debian's libc6-arm64-cross: the arm64 loader and libc that the binary links against.
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu'
const ASSET = `latchkey-${pkg.version}-linux-arm64`

let dir: string
let out: string
let buildSeconds = 0

beforeAll(() => {
  dir = tempDir('lk-release-')
  out = join(dir, 'release')
  const t0 = performance.now()
  const run = spawnSync(BUN, ['scripts/release.ts', '--only', 'linux-arm64', '--outdir', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
  buildSeconds = (performance.now() - t0) / 1000
  if (run.status !== 0) throw new Error(`release failed (${run.status}):\n${run.stdout}\n${run.stderr}`)
  console.log(`release --only linux-arm64 took ${buildSeconds.toFixed(1)} s`)
}, 130_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('scripts/release.ts', () => {
  it('names the asset latchkey-<version>-<os>-<arch> and writes nothing else but SHA256SUMS', () => {
    expect(readdirSync(out).sort()).toEqual(['SHA256SUMS', ASSET])
    expect(statSync(join(out, ASSET)).mode & 0o111).not.toBe(0)
  })

  it('lists the asset in SHA256SUMS in sha256sum format with its real digest', () => {
    const digest = createHash('sha256').update(readFileSync(join(out, ASSET))).digest('hex')
    expect(readFileSync(join(out, 'SHA256SUMS'), 'utf8')).toBe(`${digest}  ${ASSET}\n`)
    const check = spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' })
    expect(check.status).toBe(0)
  })

  it('refuses an unknown target and names the valid ones', () => {
    const run = spawnSync(BUN, ['scripts/release.ts', '--only', 'linux-mips', '--outdir', join(dir, 'nope')], { cwd: ROOT, encoding: 'utf8' })
    expect(run.status).not.toBe(0)
    expect(run.stderr).toContain('Unknown target "linux-mips"')
    expect(run.stderr).toContain('linux-x64-baseline')
  })
})

describe('linux-arm64 release binary under qemu-user', () => {
  const qemu = (args: string[]) => spawnSync(QEMU, ['-L', ARM64_SYSROOT, join(out, ASSET), ...args], { encoding: 'utf8', timeout: 60_000 })

  it('is an arm64 executable that prints the version and a real commit', () => {
    const elf = readFileSync(join(out, ASSET)).subarray(0, 20)
    // ELF magic, then e_machine (offset 18, little-endian) 0xB7 = EM_AARCH64.
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF')
    expect(elf.readUInt16LE(18)).toBe(0xb7)
    const run = qemu(['--version'])
    expect(run.stderr).toBe('')
    const m = run.stdout.match(/^latchkey (\S+) \(commit ([0-9a-f]{12}), bun [\d.]+\)$/m)
    expect(m?.[1]).toBe(pkg.version)
    // The baked-in commit names a commit of this repository (HEAD may move while others commit).
    expect(spawnSync('git', ['cat-file', '-e', `${m![2]}^{commit}`], { cwd: ROOT }).status).toBe(0)
  }, 60_000)

  it('serves /api/health on a port-0 listener', async () => {
    // startLatchkey runs one executable: a two-line wrapper puts qemu in front of the binary.
    const wrapper = join(dir, 'latchkey-arm64')
    writeFileSync(wrapper, `#!/bin/sh\nexec ${QEMU} -L ${ARM64_SYSROOT} ${JSON.stringify(join(out, ASSET))} "$@"\n`)
    chmodSync(wrapper, 0o755)
    const lk = await startLatchkey({ binary: wrapper, args: ['serve', '--host', '127.0.0.1'], waitReady: false })
    try {
      const m = await lk.waitFor(/INFO\s+ready(?: dashboard=\d+)? api=(\d+)/, 45_000)
      const res = await fetch(`http://127.0.0.1:${m[1]}/api/health`)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ status: 'ok', version: pkg.version })
    } finally {
      await lk.stop()
    }
  }, 60_000)
})
