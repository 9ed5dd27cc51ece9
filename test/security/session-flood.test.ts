/**
 * Sessions cannot be turned against the operator: one reusable viewer link opened 10,050
 * times through the Cloudflare ingress (thousands of client addresses, as Cf-Connecting-Ip
 * reports them) must not sign the admin out, and one address cannot sign in more than its
 * share of devices; minting links in a loop cannot evict a pending one-time link. A real
 * latchkey process; the flood is plain fetch to the ingress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { MAX_SESSIONS_PER_ADDRESS, MAX_SESSIONS_PER_ISSUER } from '../../src/tokens/session-bounds.ts'
import { MAX_LIVE_TOKENS } from '../../src/tokens/login-tokens.ts'

const HOST = 'x.trycloudflare.com'
const FLOOD = 10_050
const ADMIN_ADDRESS = '198.51.100.1'
let lk: Latchkey

/** A request through the Cloudflare ingress from `address`, as cloudflared would send it. */
function viaTunnel(path: string, address: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${lk.cloudflareIngressPort}${path}`, {
    redirect: 'manual',
    headers: { host: HOST, 'cf-connecting-ip': address, ...headers },
  })
}

const cookieOf = (res: Response) => /latchkey_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? null
const json = { accept: 'application/json' }
const page = { accept: 'text/html', 'sec-fetch-mode': 'navigate' }

/** Open `/remote-login?rt=` once per address, `batch` at a time; the statuses and codes seen. */
async function openLink(rt: string, addresses: string[], batch = 200): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  for (let i = 0; i < addresses.length; i += batch) {
    const answers = await Promise.all(
      addresses.slice(i, i + batch).map(async (address) => {
        const res = await viaTunnel(`/remote-login?rt=${rt}`, address, json)
        return res.status === 302 ? '302' : `${res.status} ${(await res.json()).error}`
      }),
    )
    for (const a of answers) seen.set(a, (seen.get(a) ?? 0) + 1)
  }
  return seen
}

let adminCookie: string
let viewerLink: string

beforeAll(async () => {
  lk = await startLatchkey({ args: ['--host', '0.0.0.0'] })
  // The admin signs a phone in through the tunnel with the access token (a page visit).
  const signIn = await viaTunnel(`/?token=${lk.token}`, ADMIN_ADDRESS, page)
  expect(signIn.status).toBe(302)
  adminCookie = cookieOf(signIn)!
  expect(adminCookie).toBeTruthy()
  // ...and shares one reusable viewer link.
  const gen = await fetch(lk.url('/api/remote/token/short-lived/generate'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'viewer', oneTime: false }),
  })
  viewerLink = (await gen.json()).token
  expect(viewerLink).toBeTruthy()
})
afterAll(async () => {
  await lk?.stop()
})

describe('a reusable viewer link opened in a loop', () => {
  it('keeps the admin signed in, holds the link to its bound and refuses one address its extra devices', async () => {
    const started = performance.now()
    const addresses = Array.from({ length: FLOOD }, (_, i) => `198.18.${i >> 8}.${i & 255}`)
    const flood = await openLink(viewerLink, addresses)
    expect(flood).toEqual(new Map([['302', FLOOD]]))
    // The admin's phone, signed in first and idle since, is still signed in.
    expect((await viaTunnel('/api/remote/sessions', ADMIN_ADDRESS, { ...json, cookie: adminCookie })).status).toBe(200)
    // About 30 devices from one address: its share signs in, the rest are told why not.
    const crowd = await openLink(viewerLink, Array(MAX_SESSIONS_PER_ADDRESS + 10).fill('203.0.113.50'), 1)
    expect(crowd).toEqual(new Map([['302', MAX_SESSIONS_PER_ADDRESS], ['429 too_many_devices', 10]]))
    console.log(`${FLOOD + MAX_SESSIONS_PER_ADDRESS + 10} link visits through the ingress: ${(performance.now() - started).toFixed(0)} ms`)

    const devices = await viaTunnel('/api/remote/sessions', ADMIN_ADDRESS, { ...json, cookie: adminCookie })
    expect(devices.status).toBe(200)
    const { sessions } = (await devices.json()) as { sessions: { role: string; issuer: string; current: boolean; address: string | null }[] }
    expect(sessions.find((s) => s.current)).toMatchObject({ role: 'admin', issuer: 'access-token', address: ADMIN_ADDRESS })
    const viewers = sessions.filter((s) => s.issuer === 'short-lived')
    expect(viewers.length).toBe(MAX_SESSIONS_PER_ISSUER)
    expect(viewers.every((s) => s.role === 'viewer')).toBe(true)
    expect(sessions.length).toBe(1 + MAX_SESSIONS_PER_ISSUER)
  }, 30_000)

  it('tells a browser on a crowded address why, on a page, and never on a credential in the URL', async () => {
    const res = await viaTunnel(`/remote-login?rt=${viewerLink}`, '203.0.113.50', page)
    expect(res.status).toBe(429)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('set-cookie')).toBeNull()
    const body = await res.text()
    expect(body).toContain('Too many devices')
    expect(body).toContain('Cannot sign in another device from this address')
    expect(body).not.toContain(viewerLink)
  })
  it('leaves a one-time link unused when its sign-in is refused, so it works from elsewhere', async () => {
    const gen = await fetch(lk.url('/api/remote/token/short-lived/generate'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer', oneTime: true }),
    })
    const once = (await gen.json()).token as string
    const refused = await viaTunnel(`/remote-login?rt=${once}`, '203.0.113.50', json)
    expect(refused.status).toBe(429)
    expect((await refused.json()).error).toBe('too_many_devices')
    expect((await viaTunnel(`/remote-login?rt=${once}`, '192.0.2.80', json)).status).toBe(302)
    expect((await viaTunnel(`/remote-login?rt=${once}`, '192.0.2.81', json)).status).toBe(401)
  })
})

describe('the access token exchanged from a crowded address', () => {
  it('signs in the address share of admin devices, then answers 429 with a readable page', async () => {
    const address = '203.0.113.60'
    for (let i = 0; i < MAX_SESSIONS_PER_ADDRESS; i++) expect((await viaTunnel(`/?token=${lk.token}`, address, page)).status).toBe(302)
    const refused = await viaTunnel(`/?token=${lk.token}`, address, page)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('set-cookie')).toBeNull()
    expect(refused.headers.get('location')).toBeNull()
    const body = await refused.text()
    expect(body).toContain('Too many devices')
    expect(body).not.toContain(lk.token!)
    // The admin who signed in earlier is still in.
    expect((await viaTunnel('/api/remote/sessions', ADMIN_ADDRESS, { ...json, cookie: adminCookie })).status).toBe(200)
  })
})

describe('minting login links in a loop', () => {
  /** A JSON request as the local user (admin). */
  const asLocal = (path: string, body?: unknown) =>
    fetch(lk.url(path), body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  it('refuses the link past the bound with 429 too_many_login_links on every minting route, and the pending one-time link still works', async () => {
    const started = performance.now()
    const pending = (await (await asLocal('/api/remote/token/short-lived/generate', { oneTime: true })).json()).token as string
    // The viewer link above is live too; fill up to the bound with the rest.
    for (let minted = 2; minted < MAX_LIVE_TOKENS; ) {
      const batch = Math.min(200, MAX_LIVE_TOKENS - minted)
      const statuses = await Promise.all(Array.from({ length: batch }, async () => (await asLocal('/api/remote/token/short-lived/generate', {})).status))
      expect(statuses.every((s) => s === 200)).toBe(true)
      minted += batch
    }
    console.log(`${MAX_LIVE_TOKENS} login links minted: ${(performance.now() - started).toFixed(0)} ms`)
    for (const res of [
      await asLocal('/api/remote/token/short-lived/generate', { role: 'viewer' }),
      await asLocal('/api/remote/url?tokenType=short-lived'),
      await asLocal('/api/remote/qr?format=image/svg'),
      await asLocal('/api/remote-access/auth/login-url', { mode: 'short-lived' }),
    ]) {
      expect(res.status).toBe(429)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      const body = await res.json()
      expect(body.error).toBe('too_many_login_links')
      expect(body.message).toStartWith(`Cannot create another login link: ${MAX_LIVE_TOKENS} short-lived links are live;`)
    }
    const login = await viaTunnel(`/remote-login?rt=${pending}`, '192.0.2.90', json)
    expect(login.status).toBe(302)
    expect(cookieOf(login)).toBeTruthy()
  }, 30_000)
})
