/**
 * The app proxy on Deno: fetch's response headers are guarded there (they are copied, not
 * edited in place) and bodies of unknown length are counted by the portable stream.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { startUpstream, type Upstream } from './upstream.ts'
import { appPort } from './peer-tools.ts'

let up: Upstream
let lk: Latchkey

beforeAll(async () => {
  up = startUpstream()
  lk = await startLatchkey({
    runtime: 'deno',
    args: ['--host', '127.0.0.1'],
    yaml: `apps:\n  - { name: web, target: "${up.url}", port: 0 }\n  - { name: grafana, target: "${up.url}", path: /apps/grafana }\n`,
  })
}, 60_000)

afterAll(async () => {
  await lk?.stop()
  await up?.stop()
})

describe('app proxy on Deno', () => {
  it('runs on Deno', () => {
    expect(readFileSync(`/proc/${lk.proc.pid}/cmdline`, 'utf8')).toContain('deno')
  })

  it('proxies declared, chunked and HEAD answers with their head edited, and logs the bytes', async () => {
    const port = await appPort(lk, 'web')
    const token: Record<string, string> = lk.token ? { authorization: `Bearer ${lk.token}` } : {}
    const declared = await fetch(`http://127.0.0.1:${port}/declared?x=1`, { headers: token })
    expect(await declared.json()).toMatchObject({ path: '/declared', search: '?x=1' })
    expect(declared.headers.get('x-content-type-options')).toBe('nosniff')
    const chunked = await fetch(`http://127.0.0.1:${port}/download?mb=2`, { headers: token })
    expect((await chunked.arrayBuffer()).byteLength).toBe(2 * 1024 * 1024)
    expect((await fetch(`http://127.0.0.1:${port}/head-only`, { method: 'HEAD', headers: token })).status).toBe(200)
    const redirect = await fetch(lk.url('/apps/grafana/redirect'), { redirect: 'manual' })
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toBe('/apps/grafana/landed?x=1')
    expect(redirect.headers.getSetCookie()).toEqual(['app_sid=abc; HttpOnly; Path=/apps/grafana'])
    await Bun.sleep(200)
    const { entries } = await (await fetch(lk.url('/api/apps/web/access-log?limit=50'))).json()
    const find = (path: string) => entries.find((e: any) => e.path === path)
    expect(find('/download')).toMatchObject({ status: 200, bytes: 2 * 1024 * 1024 })
    expect(find('/declared').bytes).toBeGreaterThan(0)
    expect(find('/head-only')).toMatchObject({ method: 'HEAD', bytes: 0 })
  }, 30_000)
})
