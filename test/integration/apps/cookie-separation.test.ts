/**
 * Apps are kept apart (the real-apps issue, item 4): cookies ignore ports, so a browser
 * sends every port-mode app on a host every cookie any of them set. A phone's real Chromium
 * in a network namespace signs in to two apps on two ports; each app must then receive only
 * the cookies it set itself, plus those no app claims, and latchkey must still know whose
 * cookie is whose after a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Page } from 'playwright-core'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, type Peer } from '../../helpers/netns.ts'
import { launchBrowser, type TestBrowser } from '../../e2e/helpers/browser.ts'

let phone: Peer
let browser: TestBrowser
let lk: Latchkey
const dataDir = tempDir('lk-cookies-')
const TOKEN = 'cookie-separation-token-0123456789'

/** An app that sets `<name>_sid` at /login and shows, at /, the Cookie header it received. */
function app(name: string) {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname
      if (path === '/login') return new Response('signed in', { headers: { 'set-cookie': `${name}_sid=${name}-secret; Path=/; HttpOnly` } })
      return new Response(`<!doctype html><title>${name}</title><pre id="got">${req.headers.get('cookie') ?? ''}</pre>`, { headers: { 'content-type': 'text/html' } })
    },
  })
}
const notes = app('notes')
const sync = app('sync')

async function start(): Promise<void> {
  lk = await startLatchkey({
    dataDir,
    args: ['--host', '0.0.0.0'],
    env: { LATCHKEY_AUTH_TOKEN: TOKEN },
    yaml: ['apps:', `  - { name: notes, target: "http://127.0.0.1:${notes.port}", port: 0 }`, `  - { name: sync, target: "http://127.0.0.1:${sync.port}", port: 0 }`, ''].join('\n'),
  })
}

async function portOf(name: string): Promise<number> {
  const apps = (await (await fetch(lk.url('/api/apps'))).json()).apps as { name: string; port: number }[]
  return apps.find((a) => a.name === name)!.port
}

/** The Cookie header `app` received for a page load, as the page shows it. */
async function received(page: Page, port: number): Promise<string[]> {
  await page.goto(`http://${phone.hostAddress}:${port}/`)
  return ((await page.textContent('#got')) ?? '').split(';').map((c) => c.trim().split('=')[0]).filter(Boolean).sort()
}

beforeAll(async () => {
  phone = createPeer()
  await start()
  browser = await launchBrowser({ ns: phone.ns })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await lk?.stop()
  notes.stop(true)
  sync.stop(true)
  phone?.destroy()
})

describe('cookies of apps on one host', () => {
  it('sends each app only the cookies it set, plus those no app claims, and still after a restart', async () => {
    const { page, context } = await browser.page({ phone: true })
    const [notesPort, syncPort] = [await portOf('notes'), await portOf('sync')]
    await page.goto(`http://${phone.hostAddress}:${notesPort}/?token=${TOKEN}`)
    await page.goto(`http://${phone.hostAddress}:${notesPort}/login`)
    await page.goto(`http://${phone.hostAddress}:${syncPort}/login`)
    // A cookie a page script sets belongs to no app latchkey knows of: every app gets it.
    await page.evaluate(() => (document.cookie = 'theme=dark; path=/'))
    // The browser holds them all, for the host (ports do not count)...
    expect((await context.cookies()).map((c) => c.name).sort()).toEqual(['latchkey_session', 'notes_sid', 'sync_sid', 'theme'])
    // ...and each app receives its own.
    expect(await received(page, notesPort)).toEqual(['notes_sid', 'theme'])
    expect(await received(page, syncPort)).toEqual(['sync_sid', 'theme'])

    await lk.stop()
    await start()
    const [notesAgain, syncAgain] = [await portOf('notes'), await portOf('sync')]
    expect(await received(page, notesAgain)).toEqual(['notes_sid', 'theme'])
    expect(await received(page, syncAgain)).toEqual(['sync_sid', 'theme'])
  }, 60_000)
})
