/**
 * Refusals a person can act on, on app ports (the real-apps issue, item 5): a phone's real
 * Chromium in a network namespace that has no session, has guessed too often, or finds the
 * app down gets a page in the dashboard's style saying what to do (the stylesheet inline,
 * allowed by the page's CSP: no file of latchkey's can be linked on a port whose every path
 * is the app's); curl gets JSON; and each refusal is logged and shows in the app's access log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Page } from 'playwright-core'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, type Peer } from '../../helpers/netns.ts'
import { launchBrowser, type Problems, type TestBrowser } from '../../e2e/helpers/browser.ts'
import { appPort } from './peer-tools.ts'
import { PER_CLIENT } from '../../../src/guard/guess-limiter.ts'

let phone: Peer
let guesser: Peer
let browser: TestBrowser
let guesserBrowser: TestBrowser
let lk: Latchkey
let notesPort = 0
let downPort = 0
const notes = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<!doctype html><title>Notes</title><h1>Notes</h1>', { headers: { 'content-type': 'text/html' } }) })
// An app whose process is not running: nothing listens at its address.
const gone = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
const gonePort = gone.port
gone.stop(true)

beforeAll(async () => {
  phone = createPeer()
  guesser = createPeer()
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0'],
    yaml: ['apps:', `  - { name: notes, target: "http://127.0.0.1:${notes.port}", port: 0 }`, `  - { name: down, target: "http://127.0.0.1:${gonePort}", port: 0 }`, ''].join('\n'),
  })
  notesPort = await appPort(lk, 'notes')
  downPort = await appPort(lk, 'down')
  ;[browser, guesserBrowser] = await Promise.all([launchBrowser({ ns: phone.ns }), launchBrowser({ ns: guesser.ns })])
}, 60_000)

afterAll(async () => {
  await Promise.all([browser?.close(), guesserBrowser?.close()])
  await lk?.stop()
  notes.stop(true)
  phone?.destroy()
  guesser?.destroy()
})

/** Whether the page wears the dashboard's stylesheet: its card is laid out as the dashboard's is. */
async function styled(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const card = document.querySelector('main.card')
    if (!card) return false
    const s = getComputedStyle(card)
    return s.borderTopStyle === 'solid' && s.borderRadius !== '0px' && s.maxWidth !== 'none'
  })
}

/** What the page itself got wrong (a blocked stylesheet shows as a CSP violation); the refusal's own status is expected. */
const cspOrScriptProblems = (p: Problems) => p.list.filter((line) => !line.includes('Failed to load resource'))

async function accessLog(app: string): Promise<{ status: number; identity: string }[]> {
  // Entries are written in batches (every 500 ms).
  await Bun.sleep(800)
  return (await (await fetch(lk.url(`/api/apps/${app}/access-log`))).json()).entries
}

describe('refusals on app ports', () => {
  it('shows a browser without a session a styled sign-in page, and curl JSON', async () => {
    const { page, problems } = await browser.page({ phone: true })
    const res = await page.goto(`http://${phone.hostAddress}:${notesPort}/`)
    expect(res!.status()).toBe(401)
    expect(await page.textContent('h1')).toBe('latchkey')
    expect(await styled(page)).toBe(true)
    expect(cspOrScriptProblems(problems)).toEqual([])
    const json = await phone.fetch(`http://${phone.hostAddress}:${notesPort}/`, { headers: { accept: 'application/json' } })
    expect(json.status).toBe(401)
    expect(json.json().error).toBe('unauthorized')
  }, 30_000)

  it('tells a browser that guessed too often to wait, on a styled page, and curl in JSON', async () => {
    const { page, problems } = await guesserBrowser.page({ phone: true })
    let last = 0
    for (let i = 0; i <= PER_CLIENT.limit; i++) last = (await page.goto(`http://${guesser.hostAddress}:${notesPort}/?token=guess-${i}`))!.status()
    expect(last).toBe(429)
    expect(await page.textContent('h1')).toBe('Too many attempts')
    expect(await page.textContent('main')).toContain('try again in')
    expect(await styled(page)).toBe(true)
    // The address in the bar carried a guess: nothing on the page repeats it.
    expect(await page.content()).not.toContain('guess-')
    expect(cspOrScriptProblems(problems)).toEqual([])
    const json = await guesser.fetch(`http://${guesser.hostAddress}:${notesPort}/?token=guess-json`, { headers: { accept: 'application/json' } })
    expect({ status: json.status, error: json.json().error }).toEqual({ status: 429, error: 'too_many_attempts' })
  }, 30_000)

  it('tells a signed-in browser that the app is down, on a styled page, and curl in JSON', async () => {
    const { page, problems } = await browser.page({ phone: true })
    await page.goto(`http://${phone.hostAddress}:${downPort}/?token=${lk.token}`)
    expect(page.url()).toBe(`http://${phone.hostAddress}:${downPort}/`)
    expect(await page.textContent('h1')).toBe('App not answering')
    expect(await page.textContent('main')).toContain('Check that it is running')
    expect(await styled(page)).toBe(true)
    expect(cspOrScriptProblems(problems)).toEqual([])
    const json = await phone.fetch(`http://${phone.hostAddress}:${downPort}/`, { headers: { authorization: `Bearer ${lk.token}` } })
    expect({ status: json.status, error: json.json().error }).toEqual({ status: 502, error: 'app_unreachable' })
  }, 30_000)

  it('logs each refusal and shows it in the app\'s access log', async () => {
    const notesLog = await accessLog('notes')
    const statuses = notesLog.map((e) => e.status)
    expect(statuses).toContain(401)
    expect(statuses).toContain(429)
    expect(notesLog.filter((e) => e.status === 429).every((e) => e.identity === 'anonymous')).toBe(true)
    expect((await accessLog('down')).map((e) => e.status)).toContain(502)
    expect(lk.output()).toMatch(/INFO\s+app request refused app=notes status=429 code=too_many_attempts/)
    expect(lk.output()).toMatch(/INFO\s+app request refused app=down status=502 code=app_unreachable/)
  })
})
