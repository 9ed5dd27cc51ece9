/**
 * Sharing an app from the dashboard (issue 20, part 1) in real headless Chromium against the
 * compiled binary: the local admin presses Share on an app, picks a lifetime, view only and a
 * device limit, and gets a QR code that decodes to the link shown; a phone (Chromium in a
 * network namespace) opens the link and lands in the app, and is refused the dashboard; the
 * share is listed under Devices with its app, expiry and how many opened it; Revoke signs the
 * phone out. Screenshots go to test/e2e/screens/ (not committed).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import jsQR from 'jsqr'
import type { Page } from 'playwright-core'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer } from '../helpers/netns.ts'
import { builtBinary } from './helpers/binary.ts'
import { PHONE, imagePixels, launchBrowser, screenshot, type TestBrowser } from './helpers/browser.ts'
import { e2eKit, ready } from './helpers/kit.ts'

let lk: Latchkey
let peer: Peer
let local: TestBrowser
let remote: TestBrowser

setDefaultTimeout(30_000)

const kit = e2eKit(() => lk)
const { serveTitle, localApi, open } = kit

async function decodeQr(page: Page, selector: string): Promise<string | null> {
  const { data, width, height } = await imagePixels(page, selector)
  return jsQR(data, width, height)?.data ?? null
}

beforeAll(async () => {
  peer = createPeer()
  const notebook = serveTitle('Shared Notebook')
  lk = await startLatchkey({
    binary: builtBinary(),
    args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress],
    yaml: `apps:\n  - name: notebook\n    target: http://127.0.0.1:${notebook.port}\n`,
  })
  ;[local, remote] = await Promise.all([launchBrowser(), launchBrowser({ ns: peer.ns })])
}, 90_000)

afterEach(() => kit.expectNoProblems())

afterAll(async () => {
  await Promise.all([local?.close(), remote?.close()])
  await lk?.stop()
  kit.stop()
  peer?.destroy()
})

describe('sharing an app from the dashboard', () => {
  it('creates a link and QR, lets a phone into that app only, lists the share under Devices and revokes it', async () => {
    const { page } = await open(local, lk.url('/#apps'))
    await ready(page)
    await page.click('[data-app-action="share"][data-app="notebook"]')
    await page.waitForSelector('[data-panel="share"]:not([hidden])')
    expect(await page.textContent('[data-share-title]')).toBe('Share notebook')
    await page.selectOption('[data-share-ttl]', '15')
    await page.check('[data-share-view-only]')
    await page.fill('[data-share-max]', '2')
    await page.click('[data-action="create-share"]')
    await page.waitForSelector('[data-share-result]:not([hidden])')
    const link = await page.inputValue('[data-share-link]')
    expect(link).toStartWith(`http://${peer.hostAddress}:${lk.dashboardPort}/apps/notebook/?latchkey_share=`)
    expect(await decodeQr(page, '[data-share-img]')).toBe(link)
    expect(await page.textContent('[data-share-caption]')).toContain('notebook · view only · until')
    await screenshot(page, 'share-created-desktop')
    const [share] = (await localApi('/api/shares')).shares
    expect(share).toMatchObject({ app: 'notebook', viewOnly: true, maxDevices: 2, opened: 0 })
    expect(Date.parse(share.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * 60_000)

    // The phone scans it: it lands in the app, the secret gone from the address bar.
    const phone = await open(remote, link, { viewport: PHONE, phone: true })
    await phone.page.waitForSelector('h1')
    expect(await phone.page.textContent('h1')).toBe('Shared Notebook')
    expect(phone.page.url()).toBe(`http://${peer.hostAddress}:${lk.dashboardPort}/apps/notebook/`)
    // The dashboard refuses it with a page that says why (Chromium logs the 403 as a failed load).
    await phone.page.goto(`http://${peer.hostAddress}:${lk.dashboardPort}/`)
    expect(await phone.page.textContent('body')).toContain('cannot open the latchkey dashboard')
    expect(phone.problems.list.every((p) => p.includes('status of 403'))).toBe(true)
    phone.problems.clear()
    await screenshot(phone.page, 'share-phone-dashboard-refused')

    await page.goto(lk.url('/#devices'))
    await page.waitForSelector('[data-share-app="notebook"]')
    const facts = await page.textContent('[data-share-app="notebook"]')
    expect(facts).toContain('notebook')
    expect(facts).toContain('view only')
    expect(facts).toContain('opened by 1 of 2 devices')
    expect(facts).toContain('expires')
    await page.waitForSelector('[data-session-list] >> text=via share link')
    await screenshot(page, 'share-listed-devices-desktop')

    await page.click(`[data-share-revoke="${share.id}"]`)
    await page.waitForSelector('[data-shares-empty]:not([hidden])')
    expect((await localApi('/api/shares')).shares).toEqual([])
    // The phone's session ended with the share: the app now asks it to sign in.
    const after = await phone.page.goto(`http://${peer.hostAddress}:${lk.dashboardPort}/apps/notebook/`)
    expect(after!.status()).toBe(401)
    phone.problems.clear()
  })
})
