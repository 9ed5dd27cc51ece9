/**
 * latchkey's credentials are latchkey's alone (the guard issue, item 6), from a phone in a
 * network namespace signed in with a session cookie: an app's own Basic auth, Jupyter's
 * `Authorization: token …` and `?token=`, and another Bearer reach the app unchanged and
 * are never counted as guesses; latchkey's access token and API key never reach an app,
 * wherever they appear (query, header, cookie); and only a request nothing else admits is a
 * latchkey guess. Checked against the upstream's own record of what reached it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer, type PeerRequest } from '../helpers/netns.ts'
import { startUpstream, type Upstream } from '../integration/apps/upstream.ts'
import { appPort } from '../integration/apps/peer-tools.ts'
import { PER_CLIENT } from '../../src/guard/guess-limiter.ts'

const API_KEY = 'app-credentials-api-key-0123456789abcdef'
let up: Upstream
let phone: Peer
let lk: Latchkey
let port: number
let cookie: string

beforeAll(async () => {
  up = startUpstream()
  phone = createPeer()
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0'],
    env: { LATCHKEY_API_KEY: API_KEY },
    yaml: ['apps:', `  - { name: nb, target: "${up.url}", port: 0 }`, `  - { name: inpath, target: "${up.url}" }`, ''].join('\n'),
  })
  port = await appPort(lk, 'nb')
  // The phone signs in once, as the QR code's link does.
  const visit = await phone.fetch(`http://${phone.hostAddress}:${port}/?token=${lk.token}`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
  expect(visit.status).toBe(302)
  cookie = /latchkey_session=[^;]+/.exec(visit.headers.get('set-cookie') ?? '')![0]
})

afterAll(async () => {
  await lk?.stop()
  phone?.destroy()
  await up?.stop()
})

/** Send from the phone to the app (port mode) or under its prefix (path mode); return what reached the app. */
async function send(path: string, init: PeerRequest = {}, mode: 'port' | 'path' = 'port') {
  const before = up.received.length
  const url = mode === 'port' ? `http://${phone.hostAddress}:${port}${path}` : `http://${phone.hostAddress}:${lk.dashboardPort}/apps/inpath${path}`
  const res = await phone.fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers } })
  return { status: res.status, reached: up.received.slice(before) }
}

describe('an app\'s own credentials on a signed-in phone', () => {
  const own: Record<string, Record<string, string>> = {
    'Basic auth': { authorization: 'Basic dXNlcjpwYXNzd29yZA==' },
    'Jupyter\'s Authorization: token': { authorization: 'token 5f0c2a1d8e9b4c7a' },
    'another Bearer': { authorization: 'Bearer the-apps-own-api-token' },
  }

  for (const [name, headers] of Object.entries(own)) {
    it(`passes ${name} to the app unchanged, in both modes`, async () => {
      for (const mode of ['port', 'path'] as const) {
        const { status, reached } = await send('/api/contents', { headers: { cookie, ...headers } }, mode)
        expect({ mode, status }).toEqual({ mode, status: 200 })
        expect(reached[0].headers.authorization).toBe(headers.authorization)
        expect(reached[0].headers.cookie ?? '').not.toContain('latchkey_session')
      }
    })
  }

  it('passes the app\'s own ?token= through (Jupyter, Vite\'s HMR socket)', async () => {
    const { status, reached } = await send('/api/kernels?token=jupyter-query-token&x=1', { headers: { cookie } })
    expect(status).toBe(200)
    expect(reached[0].path).toBe('/api/kernels?token=jupyter-query-token&x=1')
  })

  it('never counts them as guesses: 50 requests later, a guesser from the same address still has its whole budget', async () => {
    for (let i = 0; i < 25; i++) {
      expect((await send(`/poll?token=app-${i}`, { headers: { cookie, authorization: `token app-token-${i}` } })).status).toBe(200)
      expect((await send('/poll', { headers: { cookie, authorization: `Basic ${btoa(`u:${i}`)}` } })).status).toBe(200)
    }
    // Now the same address guesses, with no session: its first PER_CLIENT.limit wrong guesses are 401s.
    for (let i = 0; i < PER_CLIENT.limit; i++) expect((await send('/poll', { headers: { authorization: `Bearer guess-${i}` } })).status).toBe(401)
    expect((await send('/poll', { headers: { authorization: 'Bearer guess-over' } })).status).toBe(429)
    // The phone is not locked out by that guesser's limit: its session admits it, app credentials and all.
    expect((await send('/poll?token=app-after', { headers: { cookie, authorization: 'token app-after' } })).status).toBe(200)
  })
})

describe('latchkey\'s own secrets never reach an app', () => {
  const rows: [string, string, Record<string, string>][] = [
    ['the access token in the query, beside an app Authorization', `/q?token=${'ACCESS'}&keep=1`, { authorization: 'Basic dXNlcjpwYXNz' }],
    ['the access token under another query name', `/q?auth=${'ACCESS'}&keep=1`, {}],
    ['the access token as a Bearer', '/q?keep=1', { authorization: `Bearer ${'ACCESS'}` }],
    ['the API key as a Bearer', '/q?keep=1', { authorization: `Bearer ${API_KEY}` }],
    ['the API key in another header', '/q?keep=1', { 'x-api-key': API_KEY }],
    ['the API key in a cookie', '/q?keep=1', { cookie: `apikey=${API_KEY}; theme=dark` }],
  ]
  for (const [name, path, headers] of rows) {
    it(`strips ${name}, in both modes`, async () => {
      const fill = (s: string) => s.replaceAll('ACCESS', lk.token!)
      for (const mode of ['port', 'path'] as const) {
        const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, fill(v)]))
        h.cookie = h.cookie ? `${h.cookie}; ${cookie}` : cookie
        const { status, reached } = await send(fill(path), { headers: h }, mode)
        expect({ mode, status }).toEqual({ mode, status: 200 })
        const seen = JSON.stringify(reached)
        expect(seen).not.toContain(lk.token!)
        expect(seen).not.toContain(API_KEY)
        expect(reached[0].path).toEndWith('?keep=1')
        if (headers.authorization?.startsWith('Basic')) expect(reached[0].headers.authorization).toBe(headers.authorization)
        if (headers.cookie) expect(reached[0].headers.cookie).toBe('theme=dark')
      }
    })
  }
})
