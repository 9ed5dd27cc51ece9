/**
 * Syncthing (Debian, offline) behind latchkey in port mode, its GUI open on the phone for
 * two minutes: it must stay connected (no "Connection Error" dialog) while its event
 * long-poll, which Syncthing holds open for 60 s with the response head sent at once and
 * the body at the end, completes with a JSON body rather than being cut by latchkey.
 * Path mode is not a way to run Syncthing (no base-path setting); the last test shows why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Request as PwRequest } from 'playwright-core'
import { screenshot } from '../e2e/helpers/browser.ts'
import { startSyncthing, type Syncthing } from './apps/syncthing.ts'
import { curlSession, peerFetch, phoneSignedIn, refusals, startStage, type Phone, type Stage } from './behind-latchkey.ts'

/** How long the GUI must stay connected. */
const WATCH_MS = 120_000
/** Syncthing's own long-poll: /rest/events holds for 60 s when nothing happens. */
const LONG_POLL_MS = 60_000

let syncthing: Syncthing
let stage: Stage
let phone: Phone

beforeAll(async () => {
  syncthing = await startSyncthing()
  stage = await startStage([
    { name: 'syncthing', target: syncthing.origin, mode: 'port' },
    { name: 'syncthing-path', target: syncthing.origin, mode: 'path' },
  ])
}, 60_000)

afterAll(async () => {
  await stage?.stop()
  await syncthing?.stop()
})

/** Refusals, less Syncthing's own 503 for upgrade checks (they are off: --no-upgrade). */
const refused = (p: Phone) => refusals(p.seen).filter((r) => !r.startsWith('503 GET') || !r.endsWith('/rest/system/upgrade'))

describe('Syncthing in port mode', () => {
  it('loads its GUI with the folder and this device, through its CSRF cookie and header', async () => {
    phone = await phoneSignedIn(stage, stage.url('syncthing', '/'))
    const { page } = phone
    // Both panels are drawn from /rest/config and /rest/system/status, each sent with X-CSRF-Token-<id>.
    await page.waitForSelector('#folders:has-text("Compat")', { timeout: 15_000 })
    await page.getByRole('heading', { name: 'This Device' }).waitFor({ timeout: 15_000 })
    // The short device ID under "Identification" comes from /rest/system/status.
    await page.getByText(syncthing.deviceId).first().waitFor({ timeout: 15_000 })
    const names = (await phone.context.cookies()).map((c) => c.name)
    expect(names).toContain(`CSRF-Token-${syncthing.deviceId}`)
    await screenshot(page, 'compat-syncthing-port')
    expect(refused(phone)).toEqual([])
  }, 30_000)

  it('stays connected for 2 minutes, its event long-poll completing with JSON, never "Connection Error"', async () => {
    const { page, context } = phone
    const started = Date.now()
    const polls: { url: string; ms: number; status: number; body: string }[] = []
    const onFinished = async (r: PwRequest) => {
      if (!/\/rest\/events\?since=/.test(r.url())) return
      const res = await r.response()
      polls.push({ url: r.url(), ms: Math.round(r.timing().responseEnd), status: res?.status() ?? 0, body: (await res?.text().catch(() => '')) ?? '' })
    }
    context.on('requestfinished', onFinished)
    const errorShown: number[] = []
    while (Date.now() - started < WATCH_MS) {
      if (await page.isVisible('#networkError')) {
        if (errorShown.length === 0) await screenshot(page, 'compat-syncthing-port-connection-error')
        errorShown.push(Math.round((Date.now() - started) / 1000))
      }
      await Bun.sleep(250)
    }
    context.off('requestfinished', onFinished)
    await screenshot(page, 'compat-syncthing-port-after-2-minutes')
    // Each poll's body is Syncthing's JSON array; a poll latchkey cut ends with an empty or partial body.
    const broken = polls.filter((p) => {
      try {
        return p.status !== 200 || !Array.isArray(JSON.parse(p.body))
      } catch {
        return true
      }
    })
    expect({
      connectionErrorAtSeconds: errorShown,
      brokenPolls: broken.map((p) => `${p.status} after ${p.ms} ms: ${JSON.stringify(p.body.slice(0, 80))}`),
      refused: refused(phone),
    }).toEqual({ connectionErrorAtSeconds: [], brokenPolls: [], refused: [] })
    // At least one poll was held the full 60 s and then answered: nothing cut it at 30 s.
    expect(polls.some((p) => p.ms >= LONG_POLL_MS - 2000 && p.status === 200)).toBe(true)
    expect(await page.isVisible('#folders:has-text("Compat")')).toBe(true)
  }, WATCH_MS + 30_000)

  it('answers its REST API with its own API key header through latchkey', async () => {
    const cookie = await curlSession(stage, stage.url('syncthing', '/'))
    const res = await peerFetch(stage, cookie, stage.url('syncthing', '/rest/system/status'), { headers: { 'x-api-key': syncthing.apiKey } })
    expect(res.status).toBe(200)
    expect(res.json().myID.slice(0, 5)).toBe(syncthing.deviceId)
  })
})

describe('Syncthing in path mode', () => {
  it('is not served: it has no base-path setting, so /apps/<name>/ reaches it unchanged and it answers 404', async () => {
    const cookie = await curlSession(stage, stage.url('syncthing-path', '/'))
    const res = await peerFetch(stage, cookie, stage.url('syncthing-path', '/'))
    // Syncthing's own 404 (its headers), not latchkey's.
    expect({ status: res.status, app: res.headers.get('x-syncthing-id')?.slice(0, 5), body: res.body.trim() }).toEqual({ status: 404, app: syncthing.deviceId, body: '404 page not found' })
  })
})
