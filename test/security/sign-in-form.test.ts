/**
 * The "enter your token" page submits by POST (the guard issue, item 7), so the token never
 * lands in the URL bar, history or a Referer: a real Chromium on a phone in a network
 * namespace types the token on the dashboard and on a port-mode app, and every URL the
 * browser ever asked for is checked. A wrong token is a guess like any other, and a form
 * posted from another origin signs nobody in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Page } from 'playwright-core'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer } from '../helpers/netns.ts'
import { launchBrowser, type TestBrowser } from '../e2e/helpers/browser.ts'
import { PER_CLIENT } from '../../src/guard/guess-limiter.ts'

let phone: Peer
let lk: Latchkey
let browser: TestBrowser
let app: ReturnType<typeof Bun.serve>
let appPort: number
let host: string

beforeAll(async () => {
  phone = createPeer()
  host = phone.hostAddress
  app = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<!doctype html><title>Notebook</title><h1>Notebook</h1>', { headers: { 'content-type': 'text/html' } }) })
  lk = await startLatchkey({ args: ['--host', '0.0.0.0'], yaml: `apps:\n  - { name: nb, target: "http://127.0.0.1:${app.port}", port: 0 }\n` })
  appPort = ((await (await fetch(lk.url('/api/apps'))).json()).apps as { name: string; port: number }[]).find((a) => a.name === 'nb')!.port
  browser = await launchBrowser({ ns: phone.ns })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await lk?.stop()
  app?.stop(true)
  phone?.destroy()
})

/** A fresh phone page that remembers every URL it requested and every URL it was at. */
async function phonePage(): Promise<{ page: Page; urls: string[] }> {
  const { page } = await browser.page({ phone: true })
  const urls: string[] = []
  page.on('request', (r) => void urls.push(r.url()))
  page.on('framenavigated', (f) => void urls.push(f.url()))
  return { page, urls }
}

/** Type the token and submit; resolves once the answer to the POST has loaded (after its redirect, if any). */
async function signIn(page: Page, token: string): Promise<void> {
  await page.fill('#token', token)
  const posted = page.waitForResponse((r) => r.request().method() === 'POST', { timeout: 20_000 })
  await page.click('button[type="submit"]')
  await posted
  await page.waitForLoadState('domcontentloaded')
}

describe('the sign-in form', () => {
  for (const where of ['dashboard', 'app'] as const) {
    it(`signs a phone in on the ${where} by POST, with the token in no URL it ever used`, async () => {
      const { page, urls } = await phonePage()
      const base = `http://${host}:${where === 'dashboard' ? lk.dashboardPort : appPort}`
      const res = await page.goto(`${base}/?tab=apps`)
      expect(res!.status()).toBe(401)
      expect(await page.getAttribute('form', 'method')).toBe('post')
      await signIn(page, lk.token!)
      expect(page.url()).toBe(`${base}/?tab=apps`)
      if (where === 'dashboard') await page.waitForSelector('body[data-ready="true"]')
      else expect(await page.textContent('h1')).toBe('Notebook')
      expect(urls.filter((u) => u.includes(lk.token!))).toEqual([])
      // Back leads to no URL holding the token either.
      expect(await page.evaluate(() => history.length)).toBeLessThanOrEqual(3)
    }, 60_000)
  }

  it('answers a wrong token with the form again, and counts it as a guess', async () => {
    const { page, urls } = await phonePage()
    await page.goto(`http://${host}:${lk.dashboardPort}/`)
    const statuses: number[] = []
    page.on('response', (r) => void (r.request().method() === 'POST' && statuses.push(r.status())))
    for (let i = 0; i < PER_CLIENT.limit + 1; i++) await signIn(page, `wrong-token-${i}`)
    expect(statuses.slice(0, PER_CLIENT.limit)).toEqual(Array(PER_CLIENT.limit).fill(401))
    expect(statuses.at(-1)).toBe(429)
    expect(await page.textContent('body')).toContain('Too many attempts')
    expect(urls.filter((u) => u.includes('wrong-token'))).toEqual([])
    // The right token still signs in from that address (limits slow wrong guesses only).
    await page.goto(`http://${host}:${lk.dashboardPort}/`)
    await signIn(page, lk.token!)
    await page.waitForSelector('body[data-ready="true"]')
  }, 60_000)

  it('signs nobody in from a form on another origin', async () => {
    const foreign = await phone.fetch(`http://${host}:${lk.dashboardPort}/`, {
      method: 'POST',
      headers: { origin: `http://${host}:${appPort}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `token=${lk.token}`,
    })
    expect(foreign.status).toBe(401)
    expect(foreign.headers.get('set-cookie')).toBeNull()
  })
})
