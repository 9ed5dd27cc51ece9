/**
 * Opening a loopback-only latchkey on one of this machine's addresses without a restart
 * (the SSH-tunnel journey issue, item 2), and choosing the address the QR carries (item 3).
 * The phone is a real peer in a network namespace; the address opened is this machine's
 * end of its veth pair.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'

let lk: Latchkey
let phone: Peer
const local = (path: string, init: Parameters<typeof curlFrom>[2] = {}) => curlFrom(null, lk.url(path), init)
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  local(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

beforeAll(async () => {
  phone = createPeer()
  lk = await startLatchkey() // 127.0.0.1 only, as a server behind an SSH tunnel runs it
})
afterAll(async () => {
  await lk?.stop()
  phone?.destroy()
})

describe('opening a loopback-only latchkey to a network', () => {
  it('lists this machine\'s addresses with their interface and kind, none of them open', async () => {
    const net = (await local('/api/network')).json()
    expect(net).toMatchObject({ host: '127.0.0.1', everywhere: false, lasts: 'until-stop' })
    const mine = net.addresses.find((a: { address: string }) => a.address === phone.hostAddress)
    expect(mine).toMatchObject({ kind: 'lan', open: false, url: null })
    expect(mine.interface).toStartWith('lkh')
    // Nothing answers on that address yet, and the connect view has no link to offer.
    await expect(phone.fetch(`http://${phone.hostAddress}:${lk.dashboardPort}/`, { timeoutMs: 3000 })).rejects.toThrow()
    expect((await local('/api/connect')).json()).toMatchObject({ url: null, candidates: [] })
    expect((await local('/api/remote/url?tokenType=persistent')).status).toBe(409)
  })

  it('listens there at once, guard on: the phone needs a credential, the QR and login links use that address', async () => {
    const opened = await post('/api/network/open', { address: phone.hostAddress })
    expect(opened.status).toBe(200)
    expect(opened.json().addresses.find((a: { address: string }) => a.address === phone.hostAddress)).toMatchObject({ open: true, openedHere: true, url: `http://${phone.hostAddress}:${lk.dashboardPort}/` })
    const base = `http://${phone.hostAddress}:${lk.dashboardPort}`
    // The same process (no restart), now reachable from the phone, and never without a credential.
    expect((await phone.fetch(`${base}/api/access`)).status).toBe(401)
    expect((await phone.fetch(`${base}/api/whoami`)).json()).toMatchObject({ role: 'none', local: false })
    const connect = (await local('/api/connect')).json()
    expect(connect).toMatchObject({ address: phone.hostAddress, source: 'opened' })
    expect(connect.url).toStartWith(`${base}/?token=`)
    // The connect link's token works from the phone (exchanged for a session, then out of the URL).
    const visit = await phone.fetch(connect.url, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect({ status: visit.status, location: visit.headers.get('location') }).toEqual({ status: 302, location: '/' })
    const link = (await local('/api/remote/url?tokenType=short-lived&oneTime=true')).json()
    expect(link.url).toStartWith(`${base}/remote-login?rt=`)
    // The phone opens the login link and is signed in.
    const signIn = await phone.fetch(link.url)
    expect(signIn.status).toBe(302)
    const cookie = /latchkey_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')![0]
    expect((await phone.fetch(`${base}/api/whoami`, { headers: { cookie } })).json()).toMatchObject({ role: 'admin', method: 'session' })
  })

  it('refuses an address that is not this machine\'s, and opening from anywhere but the machine itself', async () => {
    const wrong = await post('/api/network/open', { address: '203.0.113.50' })
    expect({ status: wrong.status, field: wrong.json().field }).toEqual({ status: 400, field: 'address' })
    // An admin phone (signed in above) cannot open more of the machine: that is the local user's call.
    const link = (await local('/api/remote/url?tokenType=short-lived&oneTime=true')).json()
    const cookie = /latchkey_session=[^;]+/.exec((await phone.fetch(link.url)).headers.get('set-cookie') ?? '')![0]
    const fromPhone = await phone.fetch(`http://${phone.hostAddress}:${lk.dashboardPort}/api/network/open`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ address: phone.hostAddress }),
    })
    expect({ status: fromPhone.status, error: fromPhone.json().error }).toEqual({ status: 403, error: 'local_only' })
  })

  it('closes it again from the same view: the phone can no longer connect', async () => {
    const closed = await post('/api/network/close', { address: phone.hostAddress })
    expect(closed.status).toBe(200)
    expect(closed.json().addresses.find((a: { address: string }) => a.address === phone.hostAddress)).toMatchObject({ open: false })
    await expect(phone.fetch(`http://${phone.hostAddress}:${lk.dashboardPort}/api/whoami`, { timeoutMs: 3000 })).rejects.toThrow()
    expect((await local('/api/connect')).json().url).toBeNull()
    expect((await post('/api/network/close', { address: phone.hostAddress })).status).toBe(404)
  })
})

describe('choosing the address the QR carries', () => {
  it('lists every candidate and builds the link for the one asked for, refusing any other', async () => {
    const other = await startLatchkey({ args: ['--host', '0.0.0.0', '--allowed-origins', 'box.example'] })
    try {
      const get = (q = '') => curlFrom(null, other.url(`/api/connect${q}`)).then((r) => r.json())
      const best = await get()
      expect(best.source).toBe('allowed-origins')
      expect(best.address).toBe('box.example')
      const addresses = best.candidates.map((c: { address: string }) => c.address)
      expect(addresses).toContain(phone.hostAddress)
      const mine = best.candidates.find((c: { address: string }) => c.address === phone.hostAddress)
      expect(mine).toMatchObject({ kind: 'lan' })
      const picked = await get(`?address=${phone.hostAddress}`)
      expect(picked.url).toStartWith(`http://${phone.hostAddress}:${other.dashboardPort}/?token=`)
      const link = await curlFrom(null, other.url(`/api/remote/url?tokenType=persistent&address=${phone.hostAddress}`)).then((r) => r.json())
      expect(link.url).toStartWith(`http://${phone.hostAddress}:${other.dashboardPort}/remote-login?rt=`)
      const bad = await curlFrom(null, other.url('/api/connect?address=198.51.100.1'))
      expect({ status: bad.status, field: bad.json().field }).toEqual({ status: 400, field: 'address' })
    } finally {
      await other.stop()
    }
  })
})
