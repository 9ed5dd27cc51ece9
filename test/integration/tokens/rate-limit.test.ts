/**
 * Guessing limits over real sockets (issue 5, "Guessing"): remote peers in network
 * namespaces, the local user on loopback, and clients behind the Cloudflare ingress whose
 * address the tunnel reports in Cf-Connecting-Ip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { PER_CLIENT, PER_INGRESS } from '../../../src/guard/guess-limiter.ts'
import { cloudflareIngressPort, local, post, tailscaleIngressPort } from './lib.ts'

let guesser: Peer
let owner: Peer
let lk: Latchkey
const json = { accept: 'application/json' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

beforeAll(async () => {
  guesser = createPeer()
  owner = createPeer()
  lk = await startLatchkey({ args: ['--host', '0.0.0.0', '--allowed-origins', guesser.hostAddress] })
})
afterAll(async () => {
  await lk?.stop()
  guesser?.destroy()
  owner?.destroy()
})

describe('guessing login tokens at /remote-login', () => {
  it('answers wrong guesses 429 after 10 failures, yet always signs in a right token, which resets nothing', async () => {
    const base = `http://${guesser.hostAddress}:${lk.dashboardPort}`
    for (let i = 0; i < PER_CLIENT.limit; i++) {
      const res = await guesser.fetch(`${base}/remote-login?rt=guess-${i}`, { headers: json })
      expect(res.json().error).toBe('remote_token_invalid')
    }
    const wrong = await guesser.fetch(`${base}/remote-login?rt=guess-more`, { headers: json })
    expect(wrong.status).toBe(429)
    expect(wrong.json().error).toBe('too_many_attempts')
    const retry = Number(wrong.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(50)
    expect(retry).toBeLessThanOrEqual(60)
    // A valid viewer link from the same address signs in...
    const viewer = (await local(lk, '/api/remote/token/short-lived/generate', post({ role: 'viewer', oneTime: false }))).json()
    const signedIn = await guesser.fetch(viewer.url, { headers: json })
    expect(signedIn.status).toBe(302)
    expect(signedIn.headers.get('set-cookie')).toContain('latchkey_session=')
    // ...and buys the guesser no more guesses.
    expect((await guesser.fetch(`${base}/remote-login?rt=guess-after`, { headers: json })).status).toBe(429)
    expect((await guesser.fetch(`${base}/api/remote/status`, { headers: bearer('guess-bearer') })).status).toBe(429)
    // A page visit with the right ?token= from the same address signs in too, and a wrong one is refused.
    const page = await guesser.fetch(`${base}/?token=${lk.token}`, { headers: { accept: 'text/html' } })
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('/')
    const wrongPage = await guesser.fetch(`${base}/?token=wrong-page-guess`, { headers: { accept: 'text/html' } })
    expect(wrongPage.status).toBe(429)
    expect(wrongPage.body).toContain('Too many attempts')
  })
})

describe('guessing the access token with Authorization: Bearer', () => {
  it('limits wrong guesses without ever blocking the right token, and a success resets nothing', async () => {
    const url = `http://${owner.hostAddress}:${lk.dashboardPort}/api/remote/status`
    for (let i = 0; i < PER_CLIENT.limit - 1; i++) expect((await owner.fetch(url, { headers: bearer(`wrong-${i}`) })).status).toBe(401)
    expect((await owner.fetch(url, { headers: bearer(lk.token!) })).status).toBe(200)
    expect((await owner.fetch(url, { headers: bearer('wrong-last') })).status).toBe(401)
    const blocked = await owner.fetch(url, { headers: bearer('wrong-again') })
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await owner.fetch(url, { headers: bearer(lk.token!) })).status).toBe(200)
    // A request with no credential is not a guess: it gets the ordinary 401.
    expect((await owner.fetch(url)).status).toBe(401)
  })

  it('never locks out the local user', async () => {
    for (let i = 0; i < 3 * PER_CLIENT.limit; i++) {
      const res = await curlFrom(null, lk.url('/api/remote/status'), { headers: bearer(`local-typo-${i}`) })
      expect(res.status).toBe(200)
    }
    expect((await curlFrom(null, lk.url('/remote-login?rt=local-typo'), { headers: json })).status).toBe(401)
    expect((await local(lk, '/api/remote/sessions')).status).toBe(200)
  })
})

describe('guessing on public routes', () => {
  it('counts a wrong token sent to /api/whoami, which would otherwise confirm guesses', async () => {
    const tsi = `http://127.0.0.1:${tailscaleIngressPort(lk)}/api/whoami`
    const headers = (token: string) => ({ 'x-forwarded-for': '203.0.113.50', ...bearer(token) })
    for (let i = 0; i < PER_CLIENT.limit; i++) {
      const res = await curlFrom(null, tsi, { headers: headers(`whoami-guess-${i}`) })
      expect(res.status).toBe(200)
      expect(res.json().authenticated).toBe(false)
    }
    const blocked = await curlFrom(null, tsi, { headers: headers('whoami-guess-more') })
    expect(blocked.status).toBe(429)
    expect(blocked.body).not.toContain('authenticated')
    // The right token is always checked, and admitted.
    expect((await curlFrom(null, tsi, { headers: headers(lk.token!) })).json()).toMatchObject({ authenticated: true, role: 'admin' })
  })
})

describe('guessing through the Cloudflare ingress', () => {
  it('limits each reported client address, then the ingress as a whole', async () => {
    const cfi = `http://127.0.0.1:${cloudflareIngressPort(lk)}`
    const from = (ip: string, path: string) => curlFrom(null, `${cfi}${path}`, { headers: { 'cf-connecting-ip': ip, ...json } })
    for (let i = 0; i < PER_CLIENT.limit; i++) expect((await from('203.0.113.9', `/remote-login?rt=cf-guess-${i}`)).status).toBe(401)
    expect((await from('203.0.113.9', '/remote-login?rt=cf-guess-more')).status).toBe(429)
    // Another client behind the same tunnel is not blocked by the first one...
    expect((await from('203.0.113.10', '/remote-login?rt=cf-other')).status).toBe(401)
    // ...until the ingress budget is spent, whatever addresses the guesses claim.
    let spent = PER_CLIENT.limit + 1
    for (let n = 0; spent < PER_INGRESS.limit; n++, spent++) {
      expect((await from(`198.51.100.${Math.floor(n / 5) + 1}`, `/remote-login?rt=spray-${n}`)).status).toBe(401)
    }
    const fresh = await from('192.0.2.77', '/remote-login?rt=fresh-guess')
    expect(fresh.status).toBe(429)
    expect(fresh.json().message).toContain('through this tunnel')
    const token = await curlFrom(null, `${cfi}/api/remote/status`, { headers: { 'cf-connecting-ip': '192.0.2.78', ...bearer('x') } })
    expect(token.status).toBe(429)
    // The guessers lock nobody with a valid credential out of the tunnel: the access token, a
    // login link, and a session all still work through it, from any reported address.
    expect((await curlFrom(null, `${cfi}/api/remote/status`, { headers: { 'cf-connecting-ip': '203.0.113.9', ...bearer(lk.token!) } })).status).toBe(200)
    const link = (await local(lk, '/api/remote/token/short-lived/generate', post({}))).json()
    const login = await from('192.0.2.79', `/remote-login?rt=${link.token}`)
    expect(login.status).toBe(302)
    const cookie = login.headers.get('set-cookie')!.split(';')[0]
    expect((await curlFrom(null, `${cfi}/api/remote/status`, { headers: { 'cf-connecting-ip': '192.0.2.79', cookie } })).status).toBe(200)
    // The Tailscale ingress has its own budget.
    const tsi = await curlFrom(null, `http://127.0.0.1:${tailscaleIngressPort(lk)}/remote-login?rt=ts-guess`, { headers: json })
    expect(tsi.status).toBe(401)
    expect(lk.output()).not.toContain('cf-guess')
  })
})
