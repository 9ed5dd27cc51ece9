/**
 * Per-user preferences and the Notifications panel in real headless Chromium against the
 * compiled binary (issues 8 and 12). The local admin and a viewer signed in from a remote
 * device (a network namespace, its own browser) each filter, sort, pin and lay out the apps
 * list; each one's choices are saved for their own identity and come back after a reload,
 * untouched by the other's. The admin's Notifications panel shows the webhooks of
 * latchkey.yaml and, after "Send a test event", the delivery a real receiver on 127.0.0.1
 * got (and a failure when the receiver answers 500); a viewer has no such panel. No console
 * errors, no CSP violations, no horizontal scroll at 360×740; screenshots at both sizes go to
 * test/e2e/screens/ (not committed).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import type { Page } from 'playwright-core'
import { startLatchkey, tempDir, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer } from '../helpers/netns.ts'
import { builtBinary } from './helpers/binary.ts'
import { DESKTOP, PHONE, launchBrowser, screenshot, type Problems, type TestBrowser } from './helpers/browser.ts'
import { e2eKit, ready } from './helpers/kit.ts'

setDefaultTimeout(30_000)

/** A query the API must hide: a webhook URL's query string can carry a receiver's key. */
const HOOK_QUERY = 'key=rx-private-3b1f'

let lk: Latchkey
let peer: Peer
let local: TestBrowser
let remote: TestBrowser
let base: string
let receiver: ReturnType<typeof Bun.serve>
/** What the receiver got, and how it answers (204, or 500 to make deliveries fail). */
const received: { event: string; id: string; body: string }[] = []
let answerStatus = 204
/** The viewer's page, kept open between tests (one signed-in remote device). */
let viewer: { page: Page; problems: Problems } | null = null

const kit = e2eKit(() => lk)
const { serveTitle, localApi } = kit

/** A page at `url` once the dashboard is ready, its problems watched until the end of the test. */
async function open(browser: TestBrowser, url: string, opts: { viewport?: { width: number; height: number }; phone?: boolean } = {}): Promise<{ page: Page; problems: Problems }> {
  const opened = await kit.open(browser, url, opts)
  await ready(opened.page)
  return opened
}

/** The app rows in the order shown. */
const order = (page: Page) => page.$$eval('[data-app-row]', (rows) => rows.map((r) => (r as HTMLElement).dataset.appRow))

/** Wait until the list shows exactly these apps, in this order. */
async function waitForOrder(page: Page, names: string[]): Promise<void> {
  await page
    .waitForFunction((want) => [...document.querySelectorAll<HTMLElement>('[data-app-row]')].map((r) => r.dataset.appRow).join(',') === want.join(','), names, { timeout: 10_000 })
    .catch(async () => {
      throw new Error(`apps shown: ${(await order(page)).join(',')}; wanted ${names.join(',')}`)
    })
}

/** Every change has been answered by PUT /api/preferences. */
async function saved(page: Page): Promise<void> {
  await page.waitForSelector('[data-panel="apps"][data-prefs-state="saved"]', { timeout: 10_000 })
}

/** GET /api/preferences as this page's identity. */
const serverPrefs = (page: Page) =>
  page.evaluate(async () => (await (await fetch('/api/preferences', { credentials: 'include', headers: { accept: 'application/json' } })).json()) as { identity: string; preferences: any })

async function expectNoHorizontalScroll(page: Page, what: string): Promise<void> {
  const m = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, vw: window.innerWidth }))
  expect({ what, ...m, over: m.doc > m.vw || m.body > m.vw }).toEqual({ what, ...m, over: false })
}

async function signInViewer(): Promise<{ page: Page; problems: Problems }> {
  if (viewer) return viewer
  const gen = await localApi('/api/remote/token/short-lived/generate', { role: 'viewer' })
  const { page, problems } = await remote.page({ viewport: DESKTOP })
  await page.goto(gen.url)
  await ready(page)
  expect(page.url()).toBe(`${base}/`)
  expect(await page.textContent('[data-whoami]')).toContain('viewer')
  viewer = { page, problems }
  return viewer
}

beforeAll(async () => {
  const binary = builtBinary()
  peer = createPeer()
  receiver = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const body = await req.text()
      try {
        const doc = JSON.parse(body)
        received.push({ event: doc.event, id: doc.id, body })
      } catch {}
      return new Response(null, { status: answerStatus })
    },
  })
  const notebook = serveTitle('Notebook')
  const wiki = serveTitle('Wiki')
  const grafana = serveTitle('Grafana')
  lk = await startLatchkey({
    binary,
    dataDir: tempDir('lk-e2e-prefs-'),
    args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress],
    yaml: [
      'apps:',
      `  - { name: notebook, target: "http://127.0.0.1:${notebook.port}" }`,
      `  - { name: notes-wiki, target: "http://127.0.0.1:${wiki.port}" }`,
      `  - { name: grafana, target: "http://127.0.0.1:${grafana.port}" }`,
      'webhooks:',
      `  - url: "http://127.0.0.1:${receiver.port}/latchkey-hook?${HOOK_QUERY}"`,
      '    events: [device.signed_in, session.revoked, admin.denied]',
      '',
    ].join('\n'),
    env: { LATCHKEY_WEBHOOK_RETRY_MS: '30' },
  })
  base = `http://${peer.hostAddress}:${lk.dashboardPort}`
  ;[local, remote] = await Promise.all([launchBrowser(), launchBrowser({ ns: peer.ns })])
}, 60_000)

afterEach(() => kit.expectNoProblems(viewer ? [viewer.problems] : []))

afterAll(async () => {
  await Promise.all([local?.close(), remote?.close()])
  await lk?.stop()
  kit.stop()
  receiver?.stop(true)
  peer?.destroy()
})

describe('apps list preferences, per identity', () => {
  it('keeps the local admin\'s grid layout, filter and pinned app across reloads; the filter really filters', async () => {
    const { page } = await open(local, lk.url('/#apps'))
    // Defaults: a list, sorted by name, nothing pinned, no filter.
    await waitForOrder(page, ['grafana', 'notebook', 'notes-wiki'])
    expect(await page.getAttribute('[data-app-list]', 'data-layout')).toBe('list')
    expect(await page.inputValue('[data-apps-filter]')).toBe('')
    expect(await page.inputValue('[data-apps-sort]')).toBe('name')

    await page.click('[data-app-pin="notes-wiki"]')
    await waitForOrder(page, ['notes-wiki', 'grafana', 'notebook'])
    expect(await page.getAttribute('[data-app-pin="notes-wiki"]', 'aria-pressed')).toBe('true')
    expect(await page.getAttribute('[data-app-pin="notes-wiki"]', 'aria-label')).toBe('Unpin notes-wiki')
    // Focus stays on the pin of the app that moved.
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.appPin)).toBe('notes-wiki')

    await page.click('[data-layout-choice="grid"]')
    expect(await page.getAttribute('[data-app-list]', 'data-layout')).toBe('grid')
    expect(await page.$eval('[data-app-list]', (ul) => getComputedStyle(ul).display)).toBe('grid')
    expect(await page.getAttribute('[data-layout-choice="grid"]', 'aria-pressed')).toBe('true')

    // The filter applies while typing; grafana is gone, the pinned app stays first.
    await page.fill('[data-apps-filter]', 'note')
    await waitForOrder(page, ['notes-wiki', 'notebook'])
    expect(await page.textContent('[data-apps-count]')).toContain('2 of 3 apps match “note”')
    await page.fill('[data-apps-filter]', 'nothing-like-this')
    await waitForOrder(page, [])
    expect(await page.textContent('[data-apps-count]')).toContain('No app matches “nothing-like-this”')
    expect(await page.isHidden('[data-apps-empty]')).toBe(true)
    await page.fill('[data-apps-filter]', 'note')
    await waitForOrder(page, ['notes-wiki', 'notebook'])
    await saved(page)

    const mine = await serverPrefs(page)
    expect(mine.identity).toBe('local')
    expect(mine.preferences).toMatchObject({ layout: 'grid', sort: 'name', pinnedApps: ['notes-wiki'], filter: 'note' })
    await screenshot(page, 'apps-prefs-admin-desktop')

    await page.reload()
    await ready(page)
    await waitForOrder(page, ['notes-wiki', 'notebook'])
    expect(await page.getAttribute('[data-app-list]', 'data-layout')).toBe('grid')
    expect(await page.inputValue('[data-apps-filter]')).toBe('note')
    expect(await page.getAttribute('[data-app-pin="notes-wiki"]', 'aria-pressed')).toBe('true')

    // A fresh browser profile of the same identity gets the same list.
    const fresh = await open(local, lk.url('/#apps'))
    await waitForOrder(fresh.page, ['notes-wiki', 'notebook'])
    expect(await fresh.page.getAttribute('[data-app-list]', 'data-layout')).toBe('grid')

    // "Clear filter" brings every app back (pinned first) and is saved too.
    await fresh.page.click('[data-action="clear-filter"]')
    await waitForOrder(fresh.page, ['notes-wiki', 'grafana', 'notebook'])
    await saved(fresh.page)
    expect((await localApi('/api/preferences')).preferences.filter).toBe('')
    await fresh.page.fill('[data-apps-filter]', 'note')
    await fresh.page.press('[data-apps-filter]', 'Enter')
    await saved(fresh.page)
    expect((await localApi('/api/preferences')).preferences.filter).toBe('note')
  })

  it('gives a viewer on another device their own defaults and keeps their own choices, leaving the admin\'s alone', async () => {
    const { page } = await signInViewer()
    await page.evaluate(() => (location.hash = 'apps'))
    // Not the admin's grid, filter or pin: the defaults.
    await waitForOrder(page, ['grafana', 'notebook', 'notes-wiki'])
    expect(await page.getAttribute('[data-app-list]', 'data-layout')).toBe('list')
    expect(await page.inputValue('[data-apps-filter]')).toBe('')
    expect(await page.getAttribute('[data-app-pin="notes-wiki"]', 'aria-pressed')).toBe('false')
    // A viewer has pins and sorting but no admin buttons.
    expect(await page.locator('[data-app-action]').count()).toBe(0)

    // Newest first: latchkey.yaml order reversed.
    await page.selectOption('[data-apps-sort]', 'recent')
    await waitForOrder(page, ['grafana', 'notes-wiki', 'notebook'])
    await page.click('[data-app-pin="notebook"]')
    await waitForOrder(page, ['notebook', 'grafana', 'notes-wiki'])
    await page.fill('[data-apps-filter]', 'graf')
    await waitForOrder(page, ['grafana'])
    await page.fill('[data-apps-filter]', '')
    await waitForOrder(page, ['notebook', 'grafana', 'notes-wiki'])
    await saved(page)

    const theirs = await serverPrefs(page)
    expect(theirs.identity).toStartWith('session:')
    expect(theirs.preferences).toMatchObject({ layout: 'list', sort: 'recent', pinnedApps: ['notebook'], filter: '' })
    await screenshot(page, 'apps-prefs-viewer-desktop')

    await page.reload()
    await ready(page)
    await waitForOrder(page, ['notebook', 'grafana', 'notes-wiki'])
    expect(await page.inputValue('[data-apps-sort]')).toBe('recent')
    expect(await page.getAttribute('[data-app-list]', 'data-layout')).toBe('list')

    // The admin's preferences did not move, and their page still shows their own list.
    expect((await localApi('/api/preferences')).preferences).toMatchObject({ layout: 'grid', sort: 'name', pinnedApps: ['notes-wiki'], filter: 'note' })
    const admin = await open(local, lk.url('/#apps'))
    await waitForOrder(admin.page, ['notes-wiki', 'notebook'])
    expect(await admin.page.getAttribute('[data-app-list]', 'data-layout')).toBe('grid')
  })
})

describe('Notifications (webhooks)', () => {
  it('shows each webhook and the last delivery after "Send a test event" to a real receiver, and a failure with its error', async () => {
    const { page } = await open(local, lk.url('/#devices'))
    const hook = page.locator('[data-webhook="0"]')
    await hook.waitFor()
    // The URL as the API shows it: the query (which may hold a receiver's key) is hidden.
    const shownUrl = await hook.locator('[data-webhook-url]').textContent()
    expect(shownUrl).toBe(`http://127.0.0.1:${receiver.port}/latchkey-hook?…`)
    expect(await page.content()).not.toContain(HOOK_QUERY)
    expect(await hook.textContent()).toContain('device.signed_in')
    expect(await hook.textContent()).toContain('unsigned')

    const before = received.length
    await page.click('[data-action="webhook-test"]')
    await page.waitForSelector('[data-webhook-test-state][data-state="delivered"]', { timeout: 15_000 })
    expect(await page.textContent('[data-webhook-test-state]')).toBe('Test event delivered.')
    const got = received.slice(before).filter((r) => r.event === 'webhook.test')
    expect(got.length).toBe(1)
    expect(await hook.locator('[data-webhook-last]').getAttribute('data-webhook-last')).toBe('ok')
    expect(await hook.locator('[data-webhook-last]').getAttribute('data-webhook-last-id')).toBe(got[0].id)
    const last = await hook.locator('[data-webhook-last]').textContent()
    expect(last).toContain('delivered · 204')
    expect(last).toContain('webhook.test')
    expect(last).toContain('just now')
    expect(got[0].body).not.toContain(lk.token!)
    await screenshot(page, 'notifications-delivered-desktop')

    // The receiver fails: latchkey retries, then the panel shows the failure and its error.
    answerStatus = 500
    try {
      await page.click('[data-action="webhook-test"]')
      await page.waitForSelector('[data-webhook-test-state][data-state="failed"]', { timeout: 20_000 })
    } finally {
      answerStatus = 204
    }
    expect(await hook.locator('[data-webhook-last]').getAttribute('data-webhook-last')).toBe('failed')
    expect(await hook.locator('[data-webhook-error]').textContent()).toBe('HTTP 500')
    expect(await hook.locator('[data-webhook-last]').textContent()).toContain('5 attempts')
    expect(await hook.locator('[data-webhook-counts]').textContent()).toMatch(/\d+ delivered · 1 failed · 0 dropped/)
    await screenshot(page, 'notifications-failed-desktop')
    await page.setViewportSize(PHONE)
    await page.waitForTimeout(100)
    await expectNoHorizontalScroll(page, 'devices with webhooks')
    await screenshot(page, 'notifications-failed-phone')
  })

  it('is absent for a viewer, who never sees a webhook URL', async () => {
    const { page } = await signInViewer()
    await page.evaluate(() => (location.hash = 'devices'))
    await page.waitForSelector('[data-view="devices"]:not([hidden])')
    await page.waitForTimeout(300)
    expect(await page.locator('[data-panel="webhooks"], [data-action="webhook-test"], [data-webhook]').count()).toBe(0)
    const html = await page.content()
    expect(html).not.toContain(`127.0.0.1:${receiver.port}`)
    expect(html).not.toContain('Send a test event')
    await screenshot(page, 'devices-viewer-desktop')
  })
})

describe('phone', () => {
  it('has no horizontal scroll at 360x740 with the toolbar, grid and pins, for the admin and the viewer', async () => {
    const { page } = await open(local, lk.url('/#apps'), { viewport: PHONE, phone: true })
    await waitForOrder(page, ['notes-wiki', 'notebook'])
    await page.waitForSelector('[data-app-row="notebook"] [data-app-health="up"]', { timeout: 15_000 })
    await expectNoHorizontalScroll(page, 'admin apps, grid')
    await screenshot(page, 'apps-prefs-admin-phone')
    // Two columns would not fit: the grid falls back to one.
    const columns = await page.$eval('[data-app-list]', (ul) => getComputedStyle(ul).gridTemplateColumns.split(' ').length)
    expect(columns).toBe(1)
    await page.evaluate(() => (location.hash = 'devices'))
    await page.waitForSelector('[data-webhook="0"] [data-webhook-last]')
    await expectNoHorizontalScroll(page, 'admin devices')
    await screenshot(page, 'notifications-phone')

    const v = await signInViewer()
    await v.page.setViewportSize(PHONE)
    await v.page.evaluate(() => (location.hash = 'apps'))
    await waitForOrder(v.page, ['notebook', 'grafana', 'notes-wiki'])
    await v.page.waitForTimeout(200)
    await expectNoHorizontalScroll(v.page, 'viewer apps')
    await screenshot(v.page, 'apps-prefs-viewer-phone')
  })
})
