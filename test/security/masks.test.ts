/**
 * Masked secrets in real API answers show at most 4 characters of the secret: the tunnel
 * token and the persistent login token, in every answer that carries their mask.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'

// Obviously not a real Cloudflare token (nothing here should look like one), and with no run
// of 5 characters that an API answer could contain by chance: letters stepped through a table.
const TUNNEL_TOKEN = 'FAKE' + Array.from({ length: 50 }, (_, i) => 'ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789'[(i * 7 + 3) % 54]).join('')
let lk: Latchkey

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(lk.url(path), { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, text: await res.text() }
}
const persistentToken = () => JSON.parse(readFileSync(join(lk.dataDir, 'settings.json'), 'utf8')).remoteAccess.tokenStrategy.persistent.token as string

/** The longest run of the secret's characters (in order, contiguous) that appears in `text`. */
function longestShown(text: string, secret: string): number {
  let best = 0
  for (let i = 0; i < secret.length; i++) {
    for (let n = best + 1; i + n <= secret.length && text.includes(secret.slice(i, i + n)); n++) best = n
  }
  return best
}

beforeAll(async () => {
  lk = await startLatchkey({ args: ['--host', '127.0.0.1'] })
})
afterAll(() => lk?.stop())

describe('masked secrets in API answers', () => {
  it('show at most 4 characters of the tunnel token and the persistent login token', async () => {
    expect((await call('PUT', '/api/remote/settings', { providers: { cloudflare: { tunnelToken: TUNNEL_TOKEN } } })).status).toBe(200)
    const regenerated = await call('POST', '/api/remote/token/persistent/regenerate', {})
    expect(regenerated.status).toBe(200)
    const persistent = persistentToken()
    const answers = [
      regenerated,
      await call('GET', '/api/remote/settings'),
      await call('GET', '/api/settings/global'),
      await call('PUT', '/api/remote/settings', {}),
    ]
    expect(JSON.parse(answers[0].text).masked).toMatch(/^.{0,4}•+$/)
    expect(JSON.parse(answers[1].text).remoteAccess.providers.cloudflare.tunnelToken).toMatch(/^.{0,4}•+$/)
    for (const answer of answers) {
      expect(answer.status).toBe(200)
      expect(longestShown(answer.text, persistent)).toBeLessThanOrEqual(4)
      expect(longestShown(answer.text, TUNNEL_TOKEN)).toBeLessThanOrEqual(4)
    }
  })

  it('still takes an echoed mask as "unchanged"', async () => {
    const got = JSON.parse((await call('GET', '/api/remote/settings')).text)
    expect((await call('PUT', '/api/remote/settings', got.remoteAccess)).status).toBe(200)
    expect(JSON.parse(readFileSync(join(lk.dataDir, 'settings.json'), 'utf8')).remoteAccess.providers.cloudflare.tunnelToken).toBe(TUNNEL_TOKEN)
  })
})
