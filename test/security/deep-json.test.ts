/**
 * Deeply nested JSON bodies (a classic stack-overflow probe) get a 400 that says why, on
 * every JSON route, and change nothing; never a 500. The guard still answers first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { rawHttp } from '../helpers/raw-http.ts'

let lk: Latchkey
const settingsFile = () => readFileSync(join(lk.dataDir, 'settings.json'), 'utf8')

const deep = (n: number) => ({
  arrays: '['.repeat(n) + ']'.repeat(n),
  objects: '{"a":'.repeat(n) + '1' + '}'.repeat(n),
  // Deep under a field the route knows, so a route that only looks at its own fields is not spared.
  'objects under a known field': '{"providers":{"cloudflare":' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '}}',
  'arrays in an object': '{"pinnedApps":' + '['.repeat(n) + ']'.repeat(n) + '}',
})

const ROUTES: [string, string][] = [
  ['PUT', '/api/remote/settings'],
  ['PUT', '/api/settings/global'],
  ['POST', '/api/apps'],
  ['PUT', '/api/preferences'],
  ['POST', '/api/remote/token/short-lived/generate'],
  ['POST', '/api/remote-access/auth/login-url'],
  ['POST', '/api/remote/provider/activate'],
]

beforeAll(async () => {
  lk = await startLatchkey({ args: ['--host', '127.0.0.1'] })
})
afterAll(() => lk?.stop())

describe('deeply nested JSON bodies', () => {
  for (const n of [100_000, 65]) {
    it(`answer 400 naming the nesting limit, and change nothing, at ${n} levels`, async () => {
      const before = settingsFile()
      const bad: string[] = []
      for (const [method, path] of ROUTES) {
        for (const [shape, body] of Object.entries(deep(n))) {
          const res = await fetch(lk.url(path), { method, headers: { 'content-type': 'application/json' }, body })
          const json = await res.json().catch(() => null)
          if (res.status !== 400 || json?.error !== 'body_too_deep' || json?.field !== 'body' || !/nested too deeply.*at most 64 levels/.test(json?.message)) {
            bad.push(`${method} ${path} ${shape} → ${res.status} ${JSON.stringify(json)}`)
          }
        }
      }
      expect(bad).toEqual([])
      expect(settingsFile()).toBe(before)
      expect(lk.output()).not.toMatch(/ERROR|RangeError|call stack/)
    })
  }

  it('takes a body nested 64 levels deep to the route, which answers for its own fields', async () => {
    const body = '{"pinnedApps":' + '['.repeat(63) + ']'.repeat(63) + '}'
    const res = await fetch(lk.url('/api/preferences'), { method: 'PUT', headers: { 'content-type': 'application/json' }, body })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_request', field: 'pinnedApps' })
  })

  it('lets the guard answer an anonymous remote caller first (401, not a word about its body)', async () => {
    const body = deep(100_000).objects
    const res = await rawHttp(lk.cloudflareIngressPort, `PUT /api/remote/settings HTTP/1.1\r\nHost: x.trycloudflare.com\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
    expect(res.status).toBe(401)
    expect(res.raw).not.toContain('nested')
  })
})
