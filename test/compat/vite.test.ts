/**
 * A Vite dev server behind latchkey, in port mode and in path mode (base /apps/vite/), on
 * the phone: each page load opens Vite's HMR WebSocket through latchkey (with Vite's own
 * `?token=`), an edit on disk is hot-applied without a reload after 30 reloads, and 50
 * page loads never lock the phone out (no 401, no 429).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { screenshot } from '../e2e/helpers/browser.ts'
import { startVite, type Vite } from './apps/vite.ts'
import { startTogether } from './apps/app-process.ts'
import { phoneSignedIn, refusals, startStage, type Phone, type Stage } from './behind-latchkey.ts'

const NAME = { port: 'vite-port', path: 'vite' } as const
const vites: Record<'port' | 'path', Vite> = {} as never
let stage: Stage

beforeAll(async () => {
  ;[vites.port, vites.path] = await startTogether([startVite({ text: 'first version' }), startVite({ base: '/apps/vite/', text: 'first version' })] as const)
  stage = await startStage([
    { name: NAME.port, target: vites.port.origin, mode: 'port' },
    { name: NAME.path, target: vites.path.origin, mode: 'path' },
  ])
}, 60_000)

afterAll(async () => {
  await stage?.stop()
  await Promise.all(Object.values(vites).map((v) => v.stop()))
})

/** Vite's client logs this once its HMR socket is open. */
const CONNECTED = '[vite] connected.'

describe.each(['port', 'path'] as const)('Vite dev server in %s mode', (mode) => {
  let phone: Phone
  /** HMR sockets the page opened, and how many said they were connected. */
  const sockets: string[] = []
  let connected = 0

  beforeAll(async () => {
    phone = await phoneSignedIn(stage, stage.url(NAME[mode], '/'))
    phone.page.on('websocket', (ws) => void sockets.push(ws.url()))
    phone.page.on('console', (m) => void (m.text() === CONNECTED && connected++))
  }, 30_000)

  afterAll(async () => {
    await phone?.context.close()
  })

  /** Load (or reload) the page and wait until it shows `text` and its HMR socket is connected. */
  async function load(how: 'reload' | 'goto', text: string): Promise<void> {
    const before = connected
    if (how === 'reload') await phone.page.reload()
    else await phone.page.goto(stage.url(NAME[mode], '/'))
    await phone.page.waitForSelector(`#app[data-version="${text}"]`, { timeout: 10_000 })
    const deadline = Date.now() + 10_000
    while (connected === before && Date.now() < deadline) await Bun.sleep(20)
    if (connected === before) throw new Error(`Vite's HMR socket did not connect after a ${how} (sockets: ${sockets.slice(-2).join(', ')}; refusals: ${refusals(phone.seen).join(', ')})`)
  }

  /** Edit main.js on disk and wait for the page to show it, checking it was not reloaded. */
  async function hotEdit(text: string): Promise<void> {
    await phone.page.evaluate(() => ((window as unknown as { beforeEdit: boolean }).beforeEdit = true))
    vites[mode].edit(text)
    await phone.page.waitForSelector(`#app[data-version="${text}"]`, { timeout: 10_000 })
    // A full reload would have dropped this page's globals.
    expect(await phone.page.evaluate(() => (window as unknown as { beforeEdit?: boolean }).beforeEdit)).toBe(true)
  }

  it('hot-applies an edit without a reload after 30 reloads', async () => {
    await load('goto', 'first version')
    const opened = sockets.length
    for (let i = 0; i < 30; i++) await load('reload', 'first version')
    await hotEdit('second version')
    await screenshot(phone.page, `compat-vite-${mode}`)
    // Vite's HMR token travels in the socket's own ?token= (and reaches Vite: it accepted the socket).
    expect(sockets.length - opened).toBe(30)
    // Through latchkey's listener, never Vite's own port (its fallback when the first socket fails).
    const base = stage.url(NAME[mode], '/').replace(/^http/, 'ws')
    expect(sockets.every((u) => u.startsWith(base) && /[?&]token=[^&]+/.test(u) && !u.includes(stage.lk.token!))).toBe(true)
    expect(refusals(phone.seen)).toEqual([])
  }, 60_000)

  it('survives 50 page loads with no 401 or 429, its HMR socket connected on each, and still hot-applies edits', async () => {
    const opened = sockets.length
    for (let i = 0; i < 50; i++) await load('goto', 'second version')
    expect(sockets.length - opened).toBe(50)
    const statuses = phone.seen.map((s) => s.status)
    expect({ '401': statuses.filter((s) => s === 401).length, '429': statuses.filter((s) => s === 429).length }).toEqual({ '401': 0, '429': 0 })
    expect(refusals(phone.seen)).toEqual([])
    await hotEdit('third version')
    expect(phone.problems).toEqual([])
  }, 90_000)
})
