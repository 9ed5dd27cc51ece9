/**
 * Crash safety of settings.json when the disk refuses a write (issue 10): latchkey runs under
 * `ulimit -f` so a growing settings.json hits the file-size limit mid-write (EFBIG; SIGXFSZ
 * must not kill latchkey). The write must fail as a whole: the API answers 507
 * settings_write_failed, settings.json stays the old valid file, memory and disk agree, and
 * latchkey keeps serving. Then the same with SIGKILL at random moments while writes fail.
 */
import { afterEach, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT, startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { readSettings, send, settingsTemps, shuffle, type Outcome, type Write } from './helpers.ts'

setDefaultTimeout(60_000)

// POSIX sh counts `ulimit -f` in 512-byte blocks: 8 blocks = 4096 bytes, room for ~15 apps.
const BLOCKS = 8
const LIMIT = BLOCKS * 512
const seed = { remoteAccess: { enabled: true, activeProvider: 'tailscale', tokenStrategy: { persistent: { enabled: true, token: 'initial-persistent-token-0123456789' } } } }

let lk: Latchkey | null = null
const dirs: string[] = []
afterEach(async () => {
  await lk?.stop('SIGKILL')
  lk = null
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** latchkey from source with the file-size limit set by the shell that execs it. */
function startLimited(dataDir: string): Promise<Latchkey> {
  return startLatchkey({ dataDir, binary: '/bin/sh', args: ['-c', `ulimit -f ${BLOCKS}; exec "$0" "$@"`, BUN, join(ROOT, 'src', 'main.ts')] })
}

function freshDir(): string {
  const dir = tempDir('lk-efbig-')
  dirs.push(dir)
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(seed, null, 2))
  return dir
}

const addApp = (i: number): Write => ({ kind: 'add-app', name: `app-${String(i).padStart(2, '0')}`, target: `http://127.0.0.1:${19100 + i}` })

describe('settings.json at the file-size limit', () => {
  it('answers 507 and keeps the old file when a write hits the limit, and keeps serving', async () => {
    const dataDir = freshDir()
    lk = await startLimited(dataDir)
    const writes: Write[] = []
    for (let i = 0; i < 30; i++) writes.push(addApp(i))
    for (let i = 0; i < 10; i++) writes.push({ kind: 'regenerate' }, { kind: 'activate', provider: i % 2 ? 'cloudflare' : 'tailscale' })
    const outcomes = await Promise.all(shuffle(writes).map((w) => send(lk!, w)))

    // settings.json is never a cut-off file, whatever the answers were.
    const { settings, text } = readSettings(dataDir)
    const added = outcomes.filter((o) => o.write.kind === 'add-app' && o.status === 201).map((o) => (o.write as { name: string }).name)
    const refused = outcomes.filter((o) => o.status === 507)
    // Only two answers are possible: done, or refused as a whole with a clear reason.
    for (const o of outcomes) expect([200, 201, 507]).toContain(o.status!)
    for (const o of refused) {
      expect(o.body).toEqual({ error: 'settings_write_failed', message: 'Cannot save settings.json: the file-size limit was reached (EFBIG); nothing was changed' })
    }
    expect(added.length).toBeGreaterThan(3)
    expect(refused.length).toBeGreaterThan(3)

    // Disk and memory agree: exactly the acknowledged apps, a file within the limit, no temp files.
    expect(settings.apps.map((a) => a.name).sort()).toEqual(added.sort())
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMIT)
    expect(statSync(join(dataDir, 'settings.json')).mode & 0o777).toBe(0o600)
    expect(settingsTemps(dataDir)).toEqual([])
    const listed = (await (await fetch(lk.url('/api/apps', 'api'))).json()).apps.map((a: { name: string }) => a.name)
    expect(listed.sort()).toEqual(added.sort())

    // Still alive and writing: a write that shrinks the file succeeds, then one more add fits.
    expect(lk.proc.exitCode).toBeNull()
    expect((await fetch(lk.url('/api/health', 'api'))).status).toBe(200)
    expect((await fetch(lk.url(`/api/apps/${added[0]}`, 'api'), { method: 'DELETE' })).status).toBe(200)
    expect((await send(lk, addApp(99))).status).toBe(201)
    expect(readSettings(dataDir).settings.apps.map((a) => a.name)).toContain('app-99')
    expect(lk.output()).toContain('cannot save settings.json')
  })

  it('keeps a valid file holding the old or new value when killed while writes hit the limit', async () => {
    const dataDir = freshDir()
    let next = 0
    for (let round = 0; round < 4; round++) {
      lk = await startLimited(dataDir)
      const before = readSettings(dataDir).settings.apps.map((a) => a.name)
      const writes: Write[] = []
      for (let i = 0; i < 12; i++) writes.push(addApp(next++))
      for (let i = 0; i < 6; i++) writes.push({ kind: 'regenerate' })
      shuffle(writes)
      const outcomes: Outcome[] = []
      const killAfter = 1 + Math.floor(Math.random() * 10)
      const proc = lk.proc
      await Promise.all(writes.map(async (w) => {
        const o = await send(lk!, w)
        outcomes.push(o)
        if (outcomes.filter((x) => x.status !== null).length === killAfter) setTimeout(() => proc.kill('SIGKILL'), Math.random() * 3)
      }))
      await lk.stop('SIGKILL')
      lk = null
      for (const o of outcomes) if (o.status !== null) expect([200, 201, 507]).toContain(o.status)
      const { settings, text } = readSettings(dataDir)
      const names = settings.apps.map((a) => a.name)
      const acked = outcomes.filter((o) => o.status === 201).map((o) => (o.write as { name: string }).name)
      const attempted = writes.flatMap((w) => (w.kind === 'add-app' ? [w.name] : []))
      // Old apps kept, every acknowledged add on disk, nothing that was not asked for.
      for (const n of [...before, ...acked]) expect(names).toContain(n)
      for (const n of names) expect([...before, ...attempted]).toContain(n)
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMIT)
    }
    // The last file starts latchkey (still under the limit) and no temp file is left.
    lk = await startLimited(dataDir)
    expect(settingsTemps(dataDir)).toEqual([])
    expect((await fetch(lk.url('/api/apps', 'api'))).status).toBe(200)
  })
})
