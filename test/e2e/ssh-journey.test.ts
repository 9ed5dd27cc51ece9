/**
 * The journey latchkey exists for, with real parts (the SSH-tunnel issue): latchkey runs on a
 * "server" bound to 127.0.0.1 only. A "laptop" (one network namespace) reaches it through a
 * real `ssh -L` to Debian's sshd, forwarding the dashboard to a *different* local port, and
 * its Chromium loads the dashboard as the local admin. In Connect it opens latchkey on the
 * server's address on the phone's network; a "phone" (another namespace) reads the QR code
 * off the laptop's screen, opens it in its own Chromium and is signed in, landing on Apps.
 * The same latchkey process runs throughout. Each step is screenshotted into
 * test/e2e/screens/journey-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import jsQR from 'jsqr'
import type { Page } from 'playwright-core'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer } from '../helpers/netns.ts'
import { startSshd, type Sshd } from '../helpers/sshd.ts'
import { launchBrowser, SCREENS, type TestBrowser } from './helpers/browser.ts'

const LAPTOP_PORT = 8080
let laptop: Peer
let phone: Peer
let sshd: Sshd
let tunnel: ChildProcess
let lk: Latchkey
let laptopBrowser: TestBrowser
let phoneBrowser: TestBrowser

beforeAll(async () => {
  laptop = createPeer()
  phone = createPeer()
  // The binary a user downloads when the suite has built it; the source otherwise.
  lk = await startLatchkey({ binary: process.env.LATCHKEY_BUILT_BINARY })
  sshd = await startSshd(laptop.hostAddress)
  // ssh -N -L 8080:127.0.0.1:<dashboard> root@server, from the laptop.
  tunnel = spawn('ip', ['netns', 'exec', laptop.ns, 'ssh', '-N', '-L', `${LAPTOP_PORT}:127.0.0.1:${lk.dashboardPort}`, ...sshd.clientOptions, `root@${sshd.address}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  for (let i = 0; ; i++) {
    const up = laptop.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://localhost:${LAPTOP_PORT}/api/health`])
    if (up.stdout === '200') break
    if (i > 100) throw new Error(`the SSH forward never answered: ${up.stderr}`)
    await Bun.sleep(100)
  }
  ;[laptopBrowser, phoneBrowser] = await Promise.all([launchBrowser({ ns: laptop.ns }), launchBrowser({ ns: phone.ns })])
}, 60_000)

afterAll(async () => {
  await Promise.all([laptopBrowser?.close(), phoneBrowser?.close()])
  tunnel?.kill()
  sshd?.stop()
  await lk?.stop()
  laptop?.destroy()
  phone?.destroy()
})

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENS, `journey-${name}.png`), fullPage: true })

/** The text of the QR code shown in `img`, read from its pixels as a phone camera would. */
async function readQr(page: Page, selector: string): Promise<string | null> {
  const { width, height, data } = await page.evaluate((sel) => {
    const img = document.querySelector<HTMLImageElement>(sel)!
    const canvas = document.createElement('canvas')
    canvas.width = img.naturalWidth * 2
    canvas.height = img.naturalHeight * 2
    const ctx = canvas.getContext('2d')!
    ctx.fillStyle = '#fff'
    ctx.fillRect(0, 0, canvas.width, canvas.height)
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height)
    const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height)
    return { width: pixels.width, height: pixels.height, data: [...pixels.data] }
  }, selector)
  return jsQR(Uint8ClampedArray.from(data), width, height)?.data ?? null
}

describe('from an SSH-tunnelled dashboard to a signed-in phone', () => {
  it('walks the whole way with one latchkey process', async () => {
    const pid = lk.proc.pid
    // 1. The laptop opens the forwarded port: the dashboard, as the local admin, on Connect.
    const { page: laptopPage, problems } = await laptopBrowser.page()
    await laptopPage.goto(`http://localhost:${LAPTOP_PORT}/`)
    await laptopPage.waitForSelector('[data-address-list] li')
    expect(await laptopPage.textContent('[data-whoami]')).toBe('This machine · admin')
    expect(await laptopPage.isVisible('[data-view="connect"]')).toBe(true)
    await shot(laptopPage, '1-laptop-connect')

    // 2. It opens latchkey on the server's address on the phone's network.
    const row = `[data-address="${phone.hostAddress}"]`
    expect(await laptopPage.textContent(row)).toContain('LAN')
    await laptopPage.click(`${row} button[data-address-action="open"]`)
    await laptopPage.waitForSelector(`${row} .badge.on`)
    await laptopPage.waitForSelector('[data-connect-qr]:not([hidden])')
    expect(await laptopPage.textContent('[data-connect-where]')).toBe(`http://${phone.hostAddress}:${lk.dashboardPort}`)
    await shot(laptopPage, '2-laptop-opened')

    // 3. The phone reads the QR code off the laptop's screen and opens it.
    const link = await readQr(laptopPage, '[data-connect-qr-img]')
    expect(link).toStartWith(`http://${phone.hostAddress}:${lk.dashboardPort}/?token=`)
    const { page: phonePage, problems: phoneProblems } = await phoneBrowser.page({ phone: true })
    await phonePage.goto(link!)
    await phonePage.waitForSelector('[data-view="apps"]:not([hidden])')
    // Signed in, the token out of the address bar, landed on Apps.
    expect(phonePage.url()).toBe(`http://${phone.hostAddress}:${lk.dashboardPort}/`)
    expect(await phonePage.textContent('[data-whoami]')).toBe('Remote device · admin')
    await shot(phonePage, '3-phone-signed-in')

    // 4. The laptop sees the phone among the devices; the same process served it all.
    await laptopPage.goto(`http://localhost:${LAPTOP_PORT}/#devices`)
    await laptopPage.waitForSelector('[data-session-list] li')
    await shot(laptopPage, '4-laptop-devices')

    // 5. Now that a device has signed in, the local admin lands on the overview, whose words
    //    agree with each other: other devices can connect, and the token is not needed here.
    await laptopPage.goto(`http://localhost:${LAPTOP_PORT}/`)
    await laptopPage.waitForSelector('[data-view="remote"]:not([hidden]) [data-machine-facts] dd')
    const facts = await laptopPage.textContent('[data-machine-facts]')
    expect(facts).toContain('Open other devices connect with a credential')
    expect(facts).toContain('Not needed here other devices need it')
    expect(facts).toContain(phone.hostAddress)
    await shot(laptopPage, '5-laptop-overview')
    expect(lk.proc.pid).toBe(pid)
    expect(lk.proc.exitCode).toBeNull()
    expect([...problems.list, ...phoneProblems.list]).toEqual([])
  }, 90_000)
})
