/**
 * A port is its own origin (the guard issue, item 2). latchkey runs with a concrete --host,
 * which allows that host as a bare origin; a phone in a network namespace is signed in.
 * Cookies ignore ports, so a page served on any other port of the same host (a port-mode
 * app, or anything else listening there) rides the phone's session. It must get no
 * credentialed CORS from the API, fail the same-origin rule for state changes and the
 * GETs that reveal login links, and open no WebSocket to another app. Checked with curl
 * from the namespace and with a real Chromium in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer } from '../helpers/netns.ts'
import { connect } from 'node:net'
import { startUpstream, type Upstream } from '../integration/apps/upstream.ts'
import { launchBrowser, type TestBrowser } from '../e2e/helpers/browser.ts'

let phone: Peer
let lk: Latchkey
let chat: Upstream
let evil: ReturnType<typeof Bun.serve>
let other: ReturnType<typeof Bun.serve>
let evilPort: number
let chatPort: number
let cookie: string
let host: string

/** An attacker's page: reads a login link, mints one, opens another app's WebSocket; reports each outcome. */
const attackPage = (dash: string, ws: string) => `<!doctype html><title>attack</title><script>
(async () => {
  const out = {}
  try { const r = await fetch('${dash}/api/remote/url?tokenType=persistent', { credentials: 'include' }); out.read = r.status + ' ' + (await r.text()).slice(0, 60) } catch (e) { out.read = 'blocked' }
  try { const r = await fetch('${dash}/api/remote/token/short-lived/generate', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' }); out.mint = r.status + ' ' + (await r.text()).slice(0, 60) } catch (e) { out.mint = 'blocked' }
  out.ws = await new Promise((resolve) => { const s = new WebSocket('${ws}'); s.onopen = () => resolve('open'); s.onerror = () => resolve('refused'); setTimeout(() => resolve('timeout'), 4000) })
  window.result = out
})()
</script>`

beforeAll(async () => {
  phone = createPeer()
  host = phone.hostAddress
  chat = startUpstream()
  // The "evil" app: any page on another port of latchkey's host (a compromised app, an XSS).
  evil = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: page })
  lk = await startLatchkey({
    args: ['--host', host],
    yaml: ['apps:', `  - { name: evil, target: "http://127.0.0.1:${evil.port}", port: 0 }`, `  - { name: chat, target: "${chat.url}", port: 0 }`, ''].join('\n'),
  })
  evilPort = await appPort('evil')
  chatPort = await appPort('chat')
  // Not an app at all: something else listening on the same host.
  other = Bun.serve({ hostname: host, port: 0, fetch: page })
  const visit = await phone.fetch(`http://${host}:${lk.dashboardPort}/?token=${lk.token}`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
  cookie = /latchkey_session=[^;]+/.exec(visit.headers.get('set-cookie') ?? '')![0]
})

afterAll(async () => {
  await lk?.stop()
  evil?.stop(true)
  other?.stop(true)
  await chat?.stop()
  phone?.destroy()
})

/** A port-mode app's bound port (latchkey listens on the host address only: ask with the token). */
async function appPort(name: string): Promise<number> {
  const res = await fetch(`http://${host}:${lk.apiPort}/api/apps`, { headers: { authorization: `Bearer ${lk.token}` } })
  return ((await res.json()).apps as { name: string; port: number }[]).find((a) => a.name === name)!.port
}
const page = () => new Response(attackPage(`http://${host}:${lk?.dashboardPort}`, `ws://${host}:${chatPort}/ws`), { headers: { 'content-type': 'text/html' } })

const foreignOrigins = () => [`http://${host}:${evilPort}`, `http://${host}:${chatPort}`, `http://${host}:${other.port}`, `http://${host}`]

describe('the API and another port of its own host', () => {
  it('gives a page on another port no CORS, and the dashboard\'s own ports all of it (the control)', async () => {
    for (const origin of foreignOrigins()) {
      const res = await phone.fetch(`http://${host}:${lk.apiPort}/api/whoami`, { headers: { cookie, origin } })
      expect({ origin, cors: res.headers.get('access-control-allow-origin') }).toEqual({ origin, cors: null })
      const pre = await phone.fetch(`http://${host}:${lk.dashboardPort}/api/remote/token/short-lived/generate`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      })
      expect({ origin, cors: pre.headers.get('access-control-allow-origin') }).toEqual({ origin, cors: null })
    }
    for (const port of [lk.dashboardPort, lk.apiPort]) {
      const origin = `http://${host}:${port}`
      const res = await phone.fetch(`http://${host}:${lk.apiPort}/api/whoami`, { headers: { cookie, origin } })
      expect(res.headers.get('access-control-allow-origin')).toBe(origin)
    }
  })

  it('refuses a state change and a link-revealing GET from another port, and runs neither', async () => {
    for (const origin of foreignOrigins()) {
      const post = await phone.fetch(`http://${host}:${lk.dashboardPort}/api/remote/token/short-lived/generate`, {
        method: 'POST',
        headers: { cookie, origin, 'content-type': 'application/json', 'sec-fetch-site': 'same-site' },
        body: '{}',
      })
      expect({ origin, status: post.status, body: post.body.includes('"token"') }).toEqual({ origin, status: 403, body: false })
      const read = await phone.fetch(`http://${host}:${lk.dashboardPort}/api/remote/url?tokenType=persistent`, { headers: { cookie, origin, 'sec-fetch-site': 'same-site' } })
      expect({ origin, status: read.status, body: read.body.includes('rt=') }).toEqual({ origin, status: 403, body: false })
    }
    // The control: the dashboard's own origin does both.
    const own = `http://${host}:${lk.dashboardPort}`
    expect((await phone.fetch(`${own}/api/remote/url?tokenType=persistent`, { headers: { cookie, origin: own, 'sec-fetch-site': 'same-origin' } })).status).toBe(200)
  })

  it('opens an app\'s WebSocket for that app\'s own origin only: not the dashboard\'s, not another app\'s', async () => {
    // Raw bytes from this machine's veth address (a remote peer to latchkey): the status line is all we need.
    const upgrade = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const s = connect(chatPort, host, () => s.write(['GET /ws HTTP/1.1', `Host: ${host}:${chatPort}`, `Cookie: ${cookie}`, `Origin: ${origin}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '', ''].join('\r\n')))
        s.once('data', (d) => {
          resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1] ?? 0))
          s.destroy()
        })
        s.on('error', reject)
      })
    const reached = () => chat.received.filter((r) => r.path === '/ws').length
    const before = reached()
    for (const origin of [`http://${host}:${lk.dashboardPort}`, `http://${host}:${evilPort}`, `http://${host}:${other.port}`]) {
      expect({ origin, status: await upgrade(origin) }).toEqual({ origin, status: 403 })
    }
    expect(reached()).toBe(before)
    expect(await upgrade(`http://${host}:${chatPort}`)).toBe(101) // the control
  })
})

describe('a page on another port, in the phone\'s browser', () => {
  let browser: TestBrowser
  afterAll(async () => {
    await browser?.close()
  })

  it('can neither read nor mint a login link with the phone\'s session, nor open another app\'s socket', async () => {
    browser = await launchBrowser({ ns: phone.ns })
    const { page, context } = await browser.page({ phone: true })
    // The phone signs in on the dashboard (the cookie then goes to every port of this host).
    await page.goto(`http://${host}:${lk.dashboardPort}/?token=${lk.token}`)
    expect((await context.cookies()).some((c) => c.name === 'latchkey_session')).toBe(true)
    for (const url of [`http://${host}:${evilPort}/`, `http://${host}:${other.port}/`]) {
      await page.goto(url)
      const result = await (await page.waitForFunction(() => (window as any).result, undefined, { timeout: 15_000 })).jsonValue()
      expect({ url, result }).toEqual({ url, result: { read: 'blocked', mint: 'blocked', ws: 'refused' } })
    }
    // The control: the chat app's own page opens its socket.
    await page.goto(`http://${host}:${chatPort}/`)
    const own = await page.evaluate((u) => new Promise((resolve) => { const s = new WebSocket(u); s.onopen = () => resolve('open'); s.onerror = () => resolve('refused') }), `ws://${host}:${chatPort}/ws`)
    expect(own).toBe('open')
  }, 60_000)
})
