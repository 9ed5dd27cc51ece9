/**
 * Cookies an app sets reach the browser only when they cannot pass for latchkey's session:
 * a real upstream sets nameless, look-alike and oddly named cookies beside ordinary ones, and
 * the test reads the Set-Cookie headers a browser would get from the app's own listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { rawHttp } from '../../helpers/raw-http.ts'
import { appPort } from './peer-tools.ts'

const KEPT = ['app_sid=abc; Path=/; HttpOnly', '__Host-app=1; Path=/; Secure', 'theme=dark']
const DROPPED = [
  '=latchkey_session=planted; Path=/deep/path',
  'latchkey_session',
  'latchkey_session=planted; Path=/',
  ' latchkey_session =planted',
  'LATCHKEY_SESSION=planted',
  '__Secure-latchkey_session=planted; Secure',
  '__Host-latchkey_session=planted; Path=/; Secure',
  'x,latchkey_session=planted',
  '"latchkey_session"=planted',
]

let up: ReturnType<typeof Bun.serve>
let lk: Latchkey
let port = 0

beforeAll(async () => {
  up = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => {
      const headers = new Headers({ 'content-type': 'text/plain' })
      for (const c of [...KEPT, ...DROPPED]) headers.append('set-cookie', c)
      return new Response('cookies', { headers })
    },
  })
  lk = await startLatchkey({ args: ['--host', '127.0.0.1'], yaml: `apps:\n  - { name: cookies, target: "http://127.0.0.1:${up.port}", port: 0 }\n` })
  port = await appPort(lk, 'cookies')
})
afterAll(async () => {
  await lk?.stop()
  up?.stop(true)
})

describe('Set-Cookie from a proxied app (port mode)', () => {
  it('reaches the browser only for cookies that cannot pass for latchkey\'s session', async () => {
    const res = await rawHttp(port, `GET /page HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
    expect(res.status).toBe(200)
    const head = res.raw.split('\r\n\r\n')[0]
    const cookies = [...head.matchAll(/^set-cookie: (.*)$/gim)].map((m) => m[1])
    expect(cookies).toEqual(KEPT)
    expect(head.toLowerCase()).not.toContain('latchkey_session')
  })
})
