/**
 * `npm test` (scripts/test.sh) and `.ci/run` install Debian packages; when another apt-get
 * or dpkg holds a lock they wait for it instead of failing at once. Real apt-get runs in a
 * sandbox (its own dpkg status, package lists, cache and empty sources, through `-o Dir::*`),
 * so the test never touches this machine's locks or packages; a Python child holds the
 * sandbox's lock with fcntl, as apt and dpkg do. The empty sources make every install end in
 * "Unable to locate package", so neither script ever gets past its install step.
 */
import { describe, expect, it } from 'bun:test'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, tempDir } from '../../helpers/latchkey.ts'

const HOLD_MS = 3000
const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/python3')

/** A sandbox for apt-get, and a bin folder holding only what the scripts need (so every test tool counts as missing). */
function sandbox(): { dir: string; bin: string; frontendLock: string; listsLock: string } {
  const dir = tempDir('lk-apt-')
  for (const sub of ['dpkg/updates', 'lists/partial', 'cache/archives/partial', 'etc/sources.list.d', 'etc/apt.conf.d', 'etc/preferences.d', 'bin']) mkdirSync(join(dir, sub), { recursive: true })
  writeFileSync(join(dir, 'dpkg/status'), '')
  writeFileSync(join(dir, 'etc/sources.list'), '')
  const bin = join(dir, 'bin')
  const options = [
    `Dir::State::status=${dir}/dpkg/status`,
    `Dir::State::Lists=${dir}/lists`,
    `Dir::State::extended_states=${dir}/extended_states`,
    `Dir::Cache=${dir}/cache`,
    `Dir::Etc::sourcelist=${dir}/etc/sources.list`,
    `Dir::Etc::sourceparts=${dir}/etc/sources.list.d`,
    `Dir::Etc::parts=${dir}/etc/apt.conf.d`,
    `Dir::Etc::preferencesparts=${dir}/etc/preferences.d`,
    `Dir::Log=${dir}/log`,
  ]
  writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\nexec /usr/bin/apt-get ${options.map((o) => `-o '${o}'`).join(' ')} "$@"\n`, { mode: 0o755 })
  // .ci/run's next step; never reached, since the sandbox's install always fails.
  writeFileSync(join(bin, 'npm'), '#!/bin/sh\necho "npm $*" >&2\n', { mode: 0o755 })
  for (const tool of ['bash', 'id', 'dirname', 'sleep', 'dpkg']) {
    const found = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find(existsSync)
    if (found) symlinkSync(found, join(bin, tool))
  }
  return { dir, bin, frontendLock: join(dir, 'dpkg/lock-frontend'), listsLock: join(dir, 'lists/lock') }
}

/** Hold `lock` (fcntl, as apt and dpkg take it) for `ms`; resolves once it is held. */
function holdLock(lock: string, ms: number): Promise<void> {
  const script = 'import fcntl, os, sys, time\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)\nfcntl.lockf(fd, fcntl.LOCK_EX)\nprint("held", flush=True)\ntime.sleep(float(sys.argv[2]))\n'
  const child = spawn('/usr/bin/python3', ['-c', script, lock, String(ms / 1000)], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.stdout.on('data', () => resolve())
    child.on('exit', (code) => reject(new Error(`the lock holder exited (${code}) before holding ${lock}`)))
  })
}

/** Run a script as root with only the sandbox's bin on PATH; resolves with its output and how long it took. */
function runScript(script: string, bin: string): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now()
  const child = spawn('/bin/bash', [join(ROOT, script)], { cwd: ROOT, env: { PATH: bin, HOME: tempDir('lk-apt-home-') }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out, ms: Date.now() - started })
    }),
  )
}

describe.skipIf(!canRun)('waiting for the apt and dpkg locks (root, apt-get and python3 needed)', () => {
  it('npm test waits for the dpkg lock another apt-get holds, then installs', async () => {
    const box = sandbox()
    await holdLock(box.frontendLock, HOLD_MS)
    const r = await runScript('scripts/test.sh', box.bin)
    expect(r.out).toContain('Installing Debian packages for the tests:')
    expect(r.out).not.toContain('Could not get lock')
    // It waited, then got as far as looking the packages up (none in the sandbox's sources).
    expect(r.ms).toBeGreaterThanOrEqual(HOLD_MS - 500)
    expect(r.out).toContain('Unable to locate package')
    expect(r.out).toContain('apt-get install failed')
    expect(r.code).toBe(1)
  }, 60_000)

  it('npm test waits while another apt-get update holds the package lists', async () => {
    const box = sandbox()
    await holdLock(box.listsLock, HOLD_MS)
    const r = await runScript('scripts/test.sh', box.bin)
    expect(r.out).toContain('Waiting for another apt-get or dpkg to finish (up to 300s)...')
    expect(r.out).not.toContain('Could not get lock')
    expect(r.ms).toBeGreaterThanOrEqual(HOLD_MS - 500)
    expect(r.out).toContain('Unable to locate package')
  }, 60_000)

  it('.ci/run waits for both locks the same way', async () => {
    const box = sandbox()
    await holdLock(box.listsLock, HOLD_MS)
    await holdLock(box.frontendLock, HOLD_MS * 2)
    const r = await runScript('.ci/run', box.bin)
    expect(r.out).not.toContain('Could not get lock')
    expect(r.ms).toBeGreaterThanOrEqual(HOLD_MS * 2 - 500)
    expect(r.out).toContain('Unable to locate package')
    expect(r.out).not.toContain('npm ')
    expect(r.code).not.toBe(0)
  }, 60_000)

  it('reports any other apt-get failure at once, without waiting', async () => {
    const box = sandbox()
    writeFileSync(join(box.dir, 'etc/sources.list'), 'this is not a sources line\n')
    const r = await runScript('scripts/test.sh', box.bin)
    expect(r.out).not.toContain('Waiting for another apt-get')
    expect(r.out).toContain('apt-get install failed')
    expect(r.ms).toBeLessThan(HOLD_MS)
  }, 60_000)
})
