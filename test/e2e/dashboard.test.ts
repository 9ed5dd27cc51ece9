/**
 * The dashboard in real headless Chromium against the compiled binary (issue 8): sign-in
 * from a remote device (a network namespace), the QR codes, live tunnel status, the viewer
 * role, a phone opening a login link from another site, the phone layout, and no console
 * errors or CSP violations anywhere. Screenshots of each main screen, at desktop and phone
 * size, go to test/e2e/screens/ (not committed).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import jsQR from 'jsqr'
import type { Page } from 'playwright-core'
import { FAKES_BIN, startLatchkey, tempDir, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, curlFrom, type Peer } from '../helpers/netns.ts'
import { builtBinary } from './helpers/binary.ts'
import { DESKTOP, PHONE, historyUrls, imagePixels, launchBrowser, screenshot, type Problems, type TestBrowser } from './helpers/browser.ts'
import { e2eKit, ready } from './helpers/kit.ts'

let lk: Latchkey
let peer: Peer
let local: TestBrowser
let remote: TestBrowser
let base: string
let tsState: string

setDefaultTimeout(20_000)

const VIEWS = ['remote', 'connect', 'apps', 'devices'] as const

const kit = e2eKit(() => lk)
const { serveTitle, localApi, open, upstreams } = kit

/** A deliberate refused request: Chromium logs it as a failed resource, and that is all it may log. */
function expectOnlyRefusal(problems: Problems, status: number): void {
  expect(problems.list.length).toBe(1)
  expect(problems.list[0]).toContain(`Failed to load resource: the server responded with a status of ${status}`)
  problems.clear()
}


async function decodeQr(page: Page, selector: string): Promise<string | null> {
  const { data, width, height } = await imagePixels(page, selector)
  return jsQR(data, width, height)?.data ?? null
}

beforeAll(async () => {
  const binary = builtBinary()
  peer = createPeer()
  const notebook = serveTitle('Notebook')
  serveTitle('Grafana')
  const dataDir = tempDir('lk-e2e-')
  writeFileSync(
    join(dataDir, 'settings.json'),
    JSON.stringify({ remoteAccess: { enabled: true, activeProvider: 'cloudflare', providers: { cloudflare: { enabled: true, quickTunnel: true } } } }),
  )
  lk = await startLatchkey({
    binary,
    dataDir,
    args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress],
    yaml: `apps:\n  - name: notebook\n    target: http://127.0.0.1:${notebook.port}\n`,
    env: {
      FAKE_CLOUDFLARED_READY_DELAY_MS: '1200',
      FAKE_CLOUDFLARED_REGISTER_DELAY_MS: '50',
      FAKE_CLOUDFLARED_SHUTDOWN_MS: '50',
      FAKE_CLOUDFLARED_RECORD_DIR: tempDir('lk-e2e-cf-'),
      FAKE_TAILSCALE_STATE_DIR: (tsState = tempDir('lk-e2e-ts-')),
      LATCHKEY_TUNNEL_GRACE_MS: '1500',
    },
  })
  base = `http://${peer.hostAddress}:${lk.dashboardPort}`
  ;[local, remote] = await Promise.all([launchBrowser(), launchBrowser({ ns: peer.ns })])
}, 60_000)

afterEach(() => kit.expectNoProblems())

afterAll(async () => {
  await Promise.all([local?.close(), remote?.close()])
  await lk?.stop()
  kit.stop()
  peer?.destroy()
  // A leftover fake `tailscale funnel --bg` helper exits when its state dir goes.
  if (tsState) rmSync(tsState, { recursive: true, force: true })
})

describe('dashboard sign-in from a remote device', () => {
  it('signs in from a ?token= link and leaves the token in neither the address bar nor the history', async () => {
    expect(lk.token).toBeTruthy()
    const { page } = await open(remote, `${base}/?token=${encodeURIComponent(lk.token!)}`)
    await ready(page)
    expect(await page.textContent('[data-whoami]')).toContain('Remote device · admin')
    const href = await page.evaluate(() => location.href)
    expect(href).toBe(`${base}/`)
    const history = await historyUrls(page)
    expect(history.length).toBeGreaterThan(0)
    for (const url of history) expect(url).not.toContain(lk.token!)
    expect(history.join(' ')).not.toContain('token=')
    await screenshot(page, 'remote-device-signed-in-desktop')
  })

  it('shows the sign-in page to a remote device without a token, with no other console error than its 401', async () => {
    const { page, problems } = await open(remote, `${base}/`)
    expect(await page.textContent('h1')).toBe('latchkey')
    await page.waitForTimeout(300)
    // Chromium logs the page's own 401 status (correct: the page asks for a token); nothing else.
    expect(problems.list).toEqual([`console error: Failed to load resource: the server responded with a status of 401 (Unauthorized) (${base}/)`])
    problems.clear()
    expect(await page.locator('input#token').count()).toBe(1)
    await page.setViewportSize(PHONE)
    await screenshot(page, 'sign-in-phone')
  })
})

describe('Connect a device', () => {
  it('draws QR codes that decode to the links shown', async () => {
    const { page } = await open(local, lk.url('/#connect'))
    await ready(page)
    await page.waitForFunction(() => (document.querySelector('[data-connect-link]') as HTMLInputElement)?.value.startsWith('http'))
    const link = await page.inputValue('[data-connect-link]')
    expect(link).toBe(`http://${peer.hostAddress}:${lk.dashboardPort}/?token=${encodeURIComponent(lk.token!)}`)
    expect(await decodeQr(page, '[data-connect-qr-img]')).toBe(link)

    await page.selectOption('[data-ql-role]', 'viewer')
    await page.click('[data-action="short-lived-qr"]')
    await page.waitForSelector('[data-ql-result]:not([hidden])')
    const oneTime = await page.inputValue('[data-ql-link]')
    expect(oneTime).toMatch(new RegExp(`^${base.replace(/\./g, '\\.')}/remote-login\\?rt=`))
    expect(await decodeQr(page, '[data-ql-img]')).toBe(oneTime)
    expect(await page.textContent('[data-ql-countdown]')).toMatch(/One-time viewer link, expires in [45]:\d\d/)
    await screenshot(page, 'connect-one-time-desktop')
    await page.setViewportSize(PHONE)
    await screenshot(page, 'connect-one-time-phone')
  })
})

describe('Remote access status', () => {
  it('starts and stops a quick tunnel from the buttons and shows starting, running and stopped live', async () => {
    const { page } = await open(local, lk.url('/'))
    await ready(page)
    // The live stream is Server-Sent Events, not the polling fallback.
    await page.waitForSelector('body[data-live-mode="sse"]', { timeout: 5000 })
    await page.waitForSelector('[data-tunnel-state="stopped"]')
    await page.evaluate(() => ((window as any).__sameDocument = true))
    await page.click('[data-action="tunnel-start"]')
    await page.waitForSelector('[data-tunnel-state="starting"]', { timeout: 3000 })
    expect(await page.textContent('[data-tunnel-progress]')).toContain('Starting')
    await page.waitForSelector('[data-tunnel-state="running"]', { timeout: 10_000 })
    expect(await page.textContent('[data-tunnel-url]')).toMatch(/^https:\/\/[a-z0-9-]+\.trycloudflare\.com$/)
    expect(await page.isDisabled('[data-action="tunnel-start"]')).toBe(true)
    await screenshot(page, 'remote-running-desktop')
    await page.setViewportSize(PHONE)
    await screenshot(page, 'remote-running-phone')
    await page.setViewportSize(DESKTOP)
    await page.click('[data-action="tunnel-stop"]')
    await page.waitForSelector('[data-tunnel-state="stopped"]', { timeout: 10_000 })
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true)
    expect((await localApi('/api/remote/status')).state).toBe('stopped')
  }, 30_000)

  it('pushes a change made elsewhere to an open page through the event stream', async () => {
    const { page } = await open(local, lk.url('/'))
    await ready(page)
    await page.waitForSelector('body[data-live-mode="sse"]', { timeout: 5000 })
    await localApi('/api/remote/tunnel/start', {})
    await page.waitForSelector('[data-tunnel-state="running"]', { timeout: 10_000 })
    await localApi('/api/remote/tunnel/stop', {})
    await page.waitForSelector('[data-tunnel-state="stopped"]', { timeout: 10_000 })
  }, 30_000)

  it('shows the field named by the server under that field when saving settings fails', async () => {
    const { page, problems } = await open(local, lk.url('/'))
    await ready(page)
    await page.fill('[data-field="providers.tailscale.hostname"]', 'not a host!')
    await page.click('[data-action="save-settings"]')
    const error = page.locator('[data-error-for="providers.tailscale.hostname"]')
    await error.waitFor({ state: 'visible' })
    expect(await error.textContent()).toContain('hostname')
    expect(await page.getAttribute('[data-field="providers.tailscale.hostname"]', 'aria-invalid')).toBe('true')
    expectOnlyRefusal(problems, 400)
    await page.fill('[data-field="providers.tailscale.hostname"]', 'box.tailnet.ts.net')
    await page.click('[data-action="save-settings"]')
    await page.waitForSelector('[data-saved]:has-text("Saved")')
    expect((await localApi('/api/remote/settings')).remoteAccess.providers.tailscale.hostname).toBe('box.tailnet.ts.net')
    await screenshot(page, 'remote-settings-saved-desktop')
  })
})

describe('external tunnel', () => {
  it('offers Use existing and Start fresh for a funnel latchkey did not start, and Start fresh replaces it with latchkey\'s tunnel', async () => {
    const bg = spawnSync(join(FAKES_BIN, 'tailscale'), ['funnel', '--bg', '9999'], {
      env: { ...process.env, FAKE_TAILSCALE_STATE_DIR: tsState, FAKE_TAILSCALE_READY_DELAY_MS: '0', FAKE_TAILSCALE_BG_MAX_MS: '60000' },
      encoding: 'utf8',
    })
    expect(bg.status).toBe(0)
    await Bun.sleep(3100) // past the server's external-detection cache
    const { page } = await open(local, lk.url('/'))
    await ready(page)
    await page.waitForSelector('[data-external]:not([hidden])', { timeout: 5000 })
    expect(await page.textContent('[data-external-text]')).toContain('https://host.tailnet.ts.net')
    await screenshot(page, 'remote-external-desktop')
    await page.click('[data-action="use-existing"]')
    expect(await page.textContent('[data-external-text]')).toContain('Using the tunnel that was already running')
    await page.reload()
    await ready(page)
    await page.waitForSelector('[data-external]:not([hidden])', { timeout: 5000 })
    await page.click('[data-action="start-fresh"]')
    await page.waitForSelector('[data-tunnel-state="running"]', { timeout: 10_000 })
    expect(await page.isHidden('[data-external]')).toBe(true)
    const status = await localApi('/api/remote/status')
    expect(status.provider).toBe('cloudflare')
    await localApi('/api/remote/tunnel/stop', {})
    await page.waitForSelector('[data-tunnel-state="stopped"]', { timeout: 10_000 })
    await Bun.sleep(3100)
    expect((await localApi('/api/remote/status')).externalTunnel).toBeNull()
  }, 30_000)
})

describe('viewer role', () => {
  it('shows a viewer no admin controls and the server refuses a forced admin call', async () => {
    const gen = await localApi('/api/remote/token/short-lived/generate', { role: 'viewer' })
    expect(gen.url).toStartWith(`${base}/remote-login?rt=`)
    const { page, problems } = await open(remote, gen.url)
    await ready(page)
    expect(page.url()).toBe(`${base}/`)
    expect(await page.textContent('[data-whoami]')).toContain('viewer')
    for (const view of VIEWS) {
      await page.evaluate((v) => (location.hash = v), view)
      await page.waitForTimeout(150)
      expect(await page.locator('[data-admin]').count()).toBe(0)
      expect(await page.locator('[data-action="tunnel-start"], [data-action="tunnel-stop"], [data-app-action], [data-session-signout], [data-provider-form], [data-expose]').count()).toBe(0)
    }
    expect(await page.locator('[data-nav="connect"]').count()).toBe(0)
    await page.evaluate(() => (location.hash = 'apps'))
    await page.waitForSelector('[data-app-row="notebook"]')
    expect(await page.locator('[data-app-open="notebook"]').count()).toBe(1)
    await screenshot(page, 'viewer-apps-desktop')
    await page.evaluate(() => (location.hash = 'remote'))
    await page.waitForSelector('[data-tunnel-state]')
    await screenshot(page, 'viewer-remote-desktop')
    expect(problems.list).toEqual([])

    const forced = await page.evaluate(async () => {
      const res = await fetch('/api/remote/tunnel/start', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' })
      return { status: res.status, body: await res.json() }
    })
    expect(forced.status).toBe(403)
    expect(forced.body.error).toBe('forbidden')
    expect((await localApi('/api/remote/status')).state).toBe('stopped')
    // The refused request is logged by Chromium as a failed resource: expected here.
    problems.clear()
  })
})

describe('phone', () => {
  it('lands signed in from a login link opened on another site, with no token in the address bar', async () => {
    const link = await localApi('/api/remote/qr?tokenType=short-lived&format=json')
    expect(link.oneTime).toBe(true)
    const other = serveTitle('Messages', peer.hostAddress)
    other.reload({ fetch: () => new Response(`<!doctype html><title>Messages</title><a id="go" href="${link.url}">Open latchkey</a>`, { headers: { 'content-type': 'text/html' } }) })
    const otherOrigin = `http://${peer.hostAddress}:${other.port}`
    const { page } = await open(remote, `${otherOrigin}/`, { viewport: PHONE, phone: true })
    await Promise.all([page.waitForURL(`${base}/`), page.click('#go')])
    await ready(page)
    expect(await page.textContent('[data-whoami]')).toContain('Remote device · admin')
    expect(page.url()).not.toContain('rt=')
    for (const url of await historyUrls(page)) expect(url).not.toContain('rt=')
    // The one-time link is spent.
    const again = await curlFrom(peer.ns, link.url, { headers: { accept: 'application/json' } })
    expect(again.status).toBe(401)
  })

  it('has no horizontal scroll at 360x740 on any view, and screenshots every view at both sizes', async () => {
    const shots: { size: string; viewport: { width: number; height: number }; phone: boolean }[] = [
      { size: 'phone', viewport: PHONE, phone: true },
      { size: 'desktop', viewport: DESKTOP, phone: false },
    ]
    // Some traffic for the access log.
    await curlFrom(null, lk.url('/apps/notebook/'))
    for (const s of shots) {
      const { page } = await open(local, lk.url('/'), { viewport: s.viewport, phone: s.phone })
      await ready(page)
      for (const view of VIEWS) {
        await page.evaluate((v) => (location.hash = v), view)
        await page.waitForSelector(`[data-view="${view}"]:not([hidden])`)
        if (view === 'apps') await page.waitForSelector('[data-app-row="notebook"] [data-app-health="up"]', { timeout: 15_000 })
        if (view === 'devices') await page.waitForSelector('[data-session]')
        await page.waitForTimeout(200)
        if (s.size === 'phone') {
          const overflow = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, vw: window.innerWidth }))
          expect({ view, ...overflow, over: overflow.doc > overflow.vw || overflow.body > overflow.vw }).toEqual({ view, ...overflow, over: false })
        }
        await screenshot(page, `${view}-${s.size}`)
      }
    }
  }, 40_000)
})

describe('apps and devices', () => {
  it('exposes a detected port with one click, pauses and resumes an app and shows its access log', async () => {
    const { page } = await open(local, lk.url('/#apps'))
    await ready(page)
    const grafana = upstreams[1].port
    const expose = page.locator(`[data-detected-port="${grafana}"] [data-expose]`)
    await expose.waitFor({ timeout: 10_000 })
    await expose.click()
    await page.waitForSelector('[data-app-row="grafana"]')
    await page.waitForSelector(`[data-detected-port="${grafana}"]:has-text("exposed as grafana")`)

    await page.click('[data-app-action="pause"][data-app="grafana"]')
    await page.waitForSelector('[data-app-row="grafana"] [data-app-health="paused"]')
    expect((await localApi('/api/apps')).apps.find((a: any) => a.name === 'grafana').paused).toBe(true)
    await page.click('[data-app-action="resume"][data-app="grafana"]')
    await page.waitForSelector('[data-app-row="grafana"] [data-app-action="pause"]')

    await curlFrom(null, lk.url('/apps/notebook/'))
    await page.click('[data-app-action="log"][data-app="notebook"]')
    await page.waitForSelector('[data-log-rows] tr')
    expect(await page.textContent('[data-log-rows]')).toContain('GET /apps/notebook/')
    await screenshot(page, 'apps-log-desktop')

    await page.click('[data-app-action="remove"][data-app="grafana"]')
    await page.click('[data-app-action="remove"][data-app="grafana"]')
    await page.waitForSelector('[data-app-row="grafana"]', { state: 'detached' })
  }, 30_000)

  it('adds an app from the form and reports a wrong field under it', async () => {
    const { page, problems } = await open(local, lk.url('/#apps'))
    await ready(page)
    await page.fill('[data-app-field="name"]', 'Bad Name')
    await page.fill('[data-app-field="target"]', 'http://127.0.0.1:9')
    await page.click('[data-action="save-app"]')
    await page.waitForSelector('[data-error-for="name"]:not([hidden])')
    expect(await page.textContent('[data-error-for="name"]')).toContain('"name"')
    expectOnlyRefusal(problems, 400)
    await page.fill('[data-app-field="name"]', 'docs')
    await page.click('[data-action="save-app"]')
    await page.waitForSelector('[data-app-row="docs"]')
    expect(await page.isHidden('[data-error-for="name"]')).toBe(true)
  })

  it('lists signed-in devices and signs one out', async () => {
    const gen = await localApi('/api/remote/token/short-lived/generate', { role: 'viewer' })
    const r = await curlFrom(peer.ns, gen.url, { headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1' } })
    expect(r.status).toBe(302)
    const before = (await localApi('/api/remote/sessions')).sessions.length
    const { page } = await open(local, lk.url('/#devices'))
    await ready(page)
    const row = page.locator('[data-session]', { hasText: 'Safari on iOS' }).first()
    await row.waitFor()
    await row.locator('[data-session-signout]').click()
    await row.waitFor({ state: 'detached' })
    expect((await localApi('/api/remote/sessions')).sessions.length).toBe(before - 1)
  })

  it('follows the system dark mode and keeps a theme chosen by the user across reloads', async () => {
    const { page } = await open(local, lk.url('/#devices'))
    await ready(page)
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    const light = await background()
    await page.emulateMedia({ colorScheme: 'dark' })
    const dark = await background()
    expect(dark).not.toBe(light)
    await page.emulateMedia({ colorScheme: 'light' })
    await page.selectOption('[data-theme-select]', 'dark')
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    expect(await background()).toBe(dark)
    await page.reload()
    await ready(page)
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    expect(await page.inputValue('[data-theme-select]')).toBe('dark')
    // Saved per identity on the server: a fresh browser profile of the same user gets it too.
    expect((await localApi('/api/preferences')).preferences.theme).toBe('dark')
    const fresh = await open(local, lk.url('/#devices'))
    await ready(fresh.page)
    await fresh.page.waitForFunction(() => document.documentElement.dataset.theme === 'dark')
    expect(await fresh.page.inputValue('[data-theme-select]')).toBe('dark')
    await screenshot(page, 'devices-dark-desktop')
    await page.evaluate(() => (location.hash = 'remote'))
    await page.waitForSelector('[data-tunnel-state]')
    await page.setViewportSize(PHONE)
    await screenshot(page, 'remote-dark-phone')
  })
})
