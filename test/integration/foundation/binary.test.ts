/** The compiled single executable, copied alone into an empty folder and run there. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { BUN, ROOT, startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { curlFrom } from '../../helpers/netns.ts'

let dir: string
let bin: string
let lk: Latchkey

beforeAll(async () => {
  let built = process.env.LATCHKEY_BUILT_BINARY ?? join(ROOT, 'dist', 'latchkey')
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, 'src', 'main.ts')).mtimeMs) {
    const r = spawnSync(BUN, [join(ROOT, 'scripts', 'build.ts')], { stdio: 'inherit' })
    expect(r.status).toBe(0)
    built = join(ROOT, 'dist', 'latchkey')
  }
  dir = tempDir('lk-bin-')
  bin = join(dir, 'latchkey')
  copyFileSync(built, bin)
  spawnSync('chmod', ['+x', bin])
  // HOME points into the empty folder: the default data dir is created there, nothing else is read.
  lk = await startLatchkey({ binary: bin, cwd: dir, env: { HOME: dir }, defaultDataDir: true })
})
afterAll(() => lk?.stop())

describe('the compiled binary', () => {
  it('prints its version with the commit baked in', () => {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', cwd: dir })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^latchkey \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}|unknown/)
  })

  it('prints help with every flag', () => {
    const r = spawnSync(bin, ['--help'], { encoding: 'utf8', cwd: dir })
    expect(r.status).toBe(0)
    for (const flag of ['--host', '--port', '--api-port', '--auth-token', '--allowed-origins', '--insecure-no-auth', '--api-base', '--data-dir', '--config', '--no-tui']) expect(r.stdout).toContain(flag)
  })

  it('serves the whole dashboard from inside the executable', async () => {
    const page = await curlFrom(null, lk.url('/'), { headers: { accept: 'text/html' } })
    expect(page.status).toBe(200)
    const js = /src="(\/assets\/app-[0-9a-f]+\.js)"/.exec(page.body)?.[1]
    const css = /href="(\/assets\/styles-[0-9a-f]+\.css)"/.exec(page.body)?.[1]
    expect(js).toBeDefined()
    expect(css).toBeDefined()
    const script = await curlFrom(null, lk.url(js!))
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toContain('javascript')
    expect(script.headers.get('cache-control')).toContain('immutable')
    expect(script.body.length).toBeGreaterThan(1000)
    expect((await curlFrom(null, lk.url(css!))).status).toBe(200)
  })

  it('sends text assets gzipped to clients that accept it, the same bytes once unzipped', async () => {
    const page = await curlFrom(null, lk.url('/'), { headers: { accept: 'text/html' } })
    const js = /src="(\/assets\/app-[0-9a-f]+\.js)"/.exec(page.body)![1]
    const plain = await fetch(lk.url(js), { headers: { 'accept-encoding': 'identity' } })
    expect(plain.headers.get('content-encoding')).toBeNull()
    const plainBytes = new Uint8Array(await plain.arrayBuffer())
    const raw = await curlFrom(null, lk.url(js), { headers: { 'accept-encoding': 'gzip' } })
    expect(raw.headers.get('content-encoding')).toBe('gzip')
    expect(raw.headers.get('vary')).toContain('Accept-Encoding')
    const zipped = await fetch(lk.url(js), { headers: { 'accept-encoding': 'gzip' } })
    expect(new Uint8Array(await zipped.arrayBuffer())).toEqual(plainBytes)
    expect(Number(raw.headers.get('content-length'))).toBeLessThan(plainBytes.length / 2)
  })

  it('serves the API on both listeners', async () => {
    expect((await curlFrom(null, lk.url('/api/health', 'api'))).json().status).toBe('ok')
    expect((await curlFrom(null, lk.url('/api/health'))).json().status).toBe('ok')
  })

  it('keeps its data in ~/.latchkey and writes nothing else in the folder', () => {
    expect(readdirSync(dir).sort()).toEqual(['.latchkey', 'latchkey'])
    expect(readdirSync(join(dir, '.latchkey'))).toContain('settings.json')
    expect(statSync(join(dir, '.latchkey', 'settings.json')).mode & 0o777).toBe(0o600)
  })

  it('exits 2 on a bad flag with one line on stderr', () => {
    const r = spawnSync(bin, ['--port', 'x'], { encoding: 'utf8', cwd: dir, env: { ...process.env, HOME: dir } })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })
})
