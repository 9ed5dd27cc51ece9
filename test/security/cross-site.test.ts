/**
 * Security regression suite (issue 10), in a real Chromium: an attacker's page in the
 * operator's own browser. The page is served from another origin on 127.0.0.1; latchkey's
 * loopback-exempt API is on localhost. Classes: cross-site form posts and fetches to the
 * loopback-exempt API, cross-site WebSocket to an app, CORS from refused and `null` origins,
 * and DNS rebinding (Chromium resolving an attacker's name to 127.0.0.1).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import { chromium, type BrowserContext } from 'playwright-core'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, tempDir, type Latchkey } from '../helpers/latchkey.ts'
import { launchBrowser, type TestBrowser } from '../e2e/helpers/browser.ts'

let lk: Latchkey
let browser: TestBrowser
let attacker: ReturnType<typeof Bun.serve>
let app: ReturnType<typeof Bun.serve>
let appPort = 0
const appConnections: string[] = []
const attackerPages = new Map<string, string>()

const settingsText = () => {
  try {
    return readFileSync(join(lk.dataDir, 'settings.json'), 'utf8')
  } catch {
    return '(none)'
  }
}
const persistentToken = () => JSON.parse(settingsText()).remoteAccess?.tokenStrategy?.persistent?.token ?? null

beforeAll(async () => {
  // A WebSocket app that counts every connection that reaches it.
  app = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req, server) {
      if (server.upgrade(req, { data: undefined })) return
      return new Response('app')
    },
    websocket: { open: (ws) => void appConnections.push('open'), message: (ws, m) => void ws.send(m) },
  })
  attacker = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => new Response(attackerPages.get(new URL(req.url).pathname) ?? 'attacker', { headers: { 'content-type': 'text/html' } }) })
  lk = await startLatchkey({ yaml: `apps:\n  - name: ws-app\n    target: http://127.0.0.1:${app.port}\n    port: 0\n` })
  appPort = ((await (await fetch(lk.url('/api/apps'))).json()).apps as { name: string; port: number }[]).find((a) => a.name === 'ws-app')!.port
  // A persistent token exists, so a forged regeneration would show.
  await fetch(lk.url('/api/remote/token/persistent/regenerate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
}, 60_000)
// Note: one Chromium per test; bun test reaps processes a test leaves behind when it ends.
beforeEach(async () => {
  browser = await launchBrowser()
}, 30_000)
afterEach(async () => {
  await browser?.close()
})
afterAll(async () => {
  await lk?.stop()
  attacker?.stop(true)
  app?.stop(true)
})

describe('cross-site requests to the loopback-exempt API', () => {
  it('refuses form posts and fetches from a page on another origin, and changes nothing', async () => {
    const api = `http://localhost:${lk.dashboardPort}`
    const regenerations = () => lk.output().split('persistent login token regenerated').length
    const before = { settings: settingsText(), token: persistentToken(), regenerations: regenerations() }
    expect(before.token).toBeString()
    // Forms: urlencoded, multipart, and text/plain shaped like JSON (the classic trick).
    attackerPages.set('/forms', `<!doctype html><body>
      <iframe name="sink-a"></iframe><iframe name="sink-b"></iframe><iframe name="sink-c"></iframe><iframe name="sink-d"></iframe>
      <form id="a" target="sink-a" method="POST" action="${api}/api/remote/token/persistent/regenerate"><input name="x" value="1"></form>
      <form id="b" target="sink-b" method="POST" enctype="text/plain" action="${api}/api/remote/token/persistent/regenerate"><input name='{"a":"' value='"}'></form>
      <form id="c" target="sink-c" method="POST" enctype="multipart/form-data" action="${api}/api/apps"><input name="name" value="evil"><input name="target" value="http://127.0.0.1:1"></form>
      <form id="d" target="sink-d" method="POST" enctype="text/plain" action="${api}/api/remote/provider/activate"><input name='{"provider":"cloudflare","x":"' value='"}'></form>
      <script>for (const id of ['a', 'b', 'c', 'd']) document.getElementById(id).submit()</script></body>`)
    const { page } = await browser.page()
    const posts: number[] = []
    page.on('response', (r) => void (r.request().method() === 'POST' && posts.push(r.status())))
    await page.goto(`http://127.0.0.1:${attacker.port}/forms`)
    const end = Date.now() + 5000
    while (posts.length < 4 && Date.now() < end) await Bun.sleep(50)
    // Every post reached latchkey (so the test is not vacuous) and was refused.
    expect(posts.sort()).toEqual([403, 403, 403, 403])
    // fetch: a "simple" no-cors POST, and a JSON POST (preflighted: refused without CORS headers).
    const results = await page.evaluate(async (base) => {
      const out: string[] = []
      for (const init of [
        { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' },
        { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{"provider":"tailscale"}' },
      ] as RequestInit[]) {
        try {
          const r = await fetch(`${base}/api/remote/provider/activate`, init)
          out.push(`${r.type} ${r.status}`)
        } catch (e) {
          out.push(`blocked ${(e as Error).name}`)
        }
      }
      return out
    }, api)
    expect(results).toEqual(['opaque 0', 'blocked TypeError'])
    expect(settingsText()).toBe(before.settings)
    expect(persistentToken()).toBe(before.token)
    expect(regenerations()).toBe(before.regenerations)
    expect((await (await fetch(lk.url('/api/apps'))).json()).apps.map((a: { name: string }) => a.name)).toEqual(['ws-app'])
  }, 30_000)
})

describe('CORS from refused and null origins', () => {
  it('lets neither another origin nor a sandboxed (null-origin) frame read the token link', async () => {
    const api = `http://localhost:${lk.dashboardPort}`
    const probe = `async () => { try { const r = await fetch('${api}/api/connect', { credentials: 'include' }); return 'read ' + (await r.text()).slice(0, 40) } catch (e) { return 'blocked' } }`
    // The listener is in place before the frame loads, so its answer cannot be missed.
    attackerPages.set('/null', `<!doctype html><script>addEventListener('message', (e) => { window.nullResult = e.data })</script><iframe sandbox="allow-scripts" srcdoc="<script>(${probe.replace(/"/g, '&quot;')})().then((v) => parent.postMessage(v, '*'))</script>"></iframe>`)
    const { page } = await browser.page()
    await page.goto(`http://127.0.0.1:${attacker.port}/null`)
    const fromNull = await (await page.waitForFunction(() => (window as any).nullResult, undefined, { timeout: 10_000 })).jsonValue()
    const fromOther = await page.evaluate(`(${probe})()`)
    expect(fromNull).toBe('blocked')
    expect(fromOther).toBe('blocked')
    // The control: the same fetch from latchkey's own page reads it.
    await page.goto(`${api}/`)
    expect(String(await page.evaluate(`(${probe})()`))).toStartWith('read {')
  }, 30_000)
})

describe('GETs that mint or reveal a login link', () => {
  const revealing = ['/api/remote/url?tokenType=persistent', '/api/remote/qr?format=image/png', '/api/remote/qr', '/api/connect', '/api/connect/qr.svg', '/api/connect/qr.png', '/api/remote/providers/cloudflare/detect']

  it('refuses them to another site, loopback included, and answers the dashboard itself', async () => {
    const self = `http://localhost:${lk.dashboardPort}`
    const foreign: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://evil.example' },
      { origin: `http://127.0.0.1:${attacker.port}`, 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ]
    for (const path of revealing) {
      for (const headers of foreign) {
        const res = await fetch(`${self}${path}`, { headers: { host: `localhost:${lk.dashboardPort}`, ...headers } })
        const body = await res.text()
        expect({ path, headers, status: res.status, leaked: /rt=|token=|PNG|<svg|"installed"/.test(body) }).toEqual({ path, headers, status: 403, leaked: false })
      }
      // The control: the dashboard's own requests, and non-browser clients, reach the handler
      // (a 409 says this loopback-only latchkey has no address for a link: the handler ran).
      for (const headers of [{}, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, { origin: self }] as Record<string, string>[]) {
        const status = (await fetch(`${self}${path}`, { headers })).status
        expect({ path, headers, ran: status === 200 || status === 409 }).toEqual({ path, headers, ran: true })
      }
    }
  })

  it('mints nothing for an image or a link on an attacker\'s page', async () => {
    const api = `http://localhost:${lk.dashboardPort}`
    attackerPages.set('/img', `<!doctype html><img src="${api}/api/remote/qr?format=image/png"><img src="${api}/api/connect/qr.png"><script>fetch('${api}/api/remote/url?tokenType=persistent', { mode: 'no-cors', credentials: 'include' })</script>`)
    const { page } = await browser.page()
    // latchkey logs each refusal with its path: the three requests arrived and were refused.
    const refusals = () => [...lk.output().matchAll(/WARN\s+refused status=403 method=GET path=(\S+)/g)].map((m) => m[1])
    const before = refusals().length
    await page.goto(`http://127.0.0.1:${attacker.port}/img`)
    const end = Date.now() + 5000
    while (refusals().length < before + 3 && Date.now() < end) await Bun.sleep(50)
    expect(refusals().slice(before).sort()).toEqual(['/api/connect/qr.png', '/api/remote/qr', '/api/remote/url'])
  }, 30_000)
})

describe('cross-site WebSocket', () => {
  it('refuses a WebSocket to an app opened by another origin before it reaches the app', async () => {
    attackerPages.set('/ws', '<!doctype html><title>ws</title>')
    const { page } = await browser.page()
    await page.goto(`http://127.0.0.1:${attacker.port}/ws`)
    const open = (url: string) =>
      page.evaluate(
        (u) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(u)
            ws.onopen = () => (ws.send('hi'), undefined)
            ws.onmessage = (e) => resolve(`echo ${e.data}`)
            ws.onerror = () => resolve('refused')
            setTimeout(() => resolve('timeout'), 4000)
          }),
        url,
      )
    appConnections.length = 0
    expect(await open(`ws://localhost:${appPort}/`)).toBe('refused')
    expect(await open(`ws://127.0.0.1:${appPort}/`)).toBe('refused')
    expect(appConnections).toEqual([])
    // The control: the app's own page opens it (same origin), and the app sees the connection.
    await page.goto(`http://localhost:${appPort}/`)
    expect(await open(`ws://localhost:${appPort}/`)).toBe('echo hi')
    expect(appConnections).toEqual(['open'])
  }, 30_000)
})

describe('DNS rebinding in a browser', () => {
  it('serves a page reached through an attacker name resolving to 127.0.0.1 no dashboard and no token', async () => {
    // A separate Chromium whose resolver maps the attacker's name to this machine.
    const dir = tempDir('lk-chromium-rebind-')
    let rebind: BrowserContext | null = null
    try {
      rebind = await chromium.launchPersistentContext(dir, {
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP rebind.attacker.test 127.0.0.1'],
      })
      const page = await rebind.newPage()
      const res = await page.goto(`http://rebind.attacker.test:${lk.dashboardPort}/`)
      expect(res!.status()).toBe(401)
      expect(await page.locator('[data-panel="status"]').count()).toBe(0)
      // Same-origin to the attacker's name, so the script could read the answer: it must hold nothing.
      const connect = await page.evaluate(async () => {
        const r = await fetch('/api/connect')
        return `${r.status} ${await r.text()}`
      })
      expect(connect).toStartWith('401 ')
      expect(connect).not.toContain('token=')
    } finally {
      await rebind?.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
