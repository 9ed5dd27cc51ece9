/**
 * What the compatibility tests share: latchkey bound to 0.0.0.0 with real apps in port mode
 * (own listener) and path mode (/apps/<name> on the dashboard listener), a phone in a
 * network namespace (Chromium, curl), sign-in through the access-token link, and a record
 * of every response a page got, so a refusal by latchkey is reported as one.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer, type PeerRequest, type PeerResponse } from '../helpers/netns.ts'
import { launchBrowser, type TestBrowser } from '../e2e/helpers/browser.ts'
import { appPort } from '../integration/apps/peer-tools.ts'

export interface AppMount {
  name: string
  target: string
  /** 'port': its own listener on a free port; 'path': /apps/<name> on the dashboard port. */
  mode: 'port' | 'path'
}

export interface Stage {
  lk: Latchkey
  peer: Peer
  browser: TestBrowser
  /** The phone's URL of a mounted app: http://<host>:<port><path> (path mode adds /apps/<name>). */
  url(name: string, path?: string): string
  stop(): Promise<void>
}

/** Start latchkey with `apps`, a namespace peer and Chromium inside it. */
export async function startStage(apps: AppMount[]): Promise<Stage> {
  const peer = createPeer()
  const yaml = ['apps:', ...apps.map((a) => `  - { name: ${a.name}, target: "${a.target}", ${a.mode === 'port' ? 'port: 0' : `path: /apps/${a.name}`} }`), ''].join('\n')
  const lk = await startLatchkey({ args: ['--host', '0.0.0.0'], yaml })
  if (!lk.token) throw new Error(`latchkey printed no access token:\n${lk.output()}`)
  const ports = new Map<string, number>()
  for (const a of apps) ports.set(a.name, a.mode === 'port' ? await appPort(lk, a.name) : lk.dashboardPort)
  const browser = await launchBrowser({ ns: peer.ns })
  const modes = new Map(apps.map((a) => [a.name, a.mode]))
  return {
    lk,
    peer,
    browser,
    url(name, path = '/') {
      const prefix = modes.get(name) === 'path' ? `/apps/${name}` : ''
      return `http://${peer.hostAddress}:${ports.get(name)}${prefix}${path}`
    },
    async stop() {
      await browser.close()
      await lk.stop()
      peer.destroy()
    },
  }
}

/** A response a page received (or a request that failed outright: status 0). */
export interface Seen {
  url: string
  status: number
  method: string
}

export interface Phone {
  page: Page
  context: BrowserContext
  /** Every response and failed request of this context, in order. */
  seen: Seen[]
  /** Console errors, page errors and CSP violations, as browser.ts records them. */
  problems: string[]
}

/**
 * A fresh browser context (own cookies) on the phone that opens `url` with latchkey's
 * `?token=`, as a connect link would: latchkey exchanges it for a session cookie and
 * redirects to `url` without it. Returns once the page has loaded.
 */
export async function phoneSignedIn(stage: Stage, url: string, phone = true): Promise<Phone> {
  const { page, context, problems } = await stage.browser.page({ phone, viewport: phone ? { width: 412, height: 860 } : undefined })
  const seen: Seen[] = []
  context.on('response', (r) => void seen.push({ url: r.url(), status: r.status(), method: r.request().method() }))
  // A request the page itself dropped (navigating away) is no failure of latchkey's.
  context.on('requestfailed', (r) => void (r.failure()?.errorText !== 'net::ERR_ABORTED' && seen.push({ url: r.url(), status: 0, method: r.method() })))
  const u = new URL(url)
  u.searchParams.set('token', stage.lk.token!)
  const res = await page.goto(u.toString())
  if (!res || res.status() >= 400) throw new Error(`Signing in at ${url} failed: ${res?.status()} ${await res?.text()}`)
  return { page, context, seen, problems: problems.list }
}

/** The responses latchkey (or the app) refused or failed: 401, 403, 429, 5xx, or no answer. */
export function refusals(seen: readonly Seen[]): string[] {
  return seen.filter((s) => s.status === 0 || s.status === 401 || s.status === 403 || s.status === 429 || s.status >= 500).map((s) => `${s.status} ${s.method} ${s.url}`)
}

/** Sign curl in from the peer with the token link; returns the Cookie header it must send. */
export async function curlSession(stage: Stage, url: string): Promise<string> {
  const u = new URL(url)
  u.searchParams.set('token', stage.lk.token!)
  const res = await stage.peer.fetch(u.toString(), { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0])
  if (res.status !== 302 || cookies.length === 0) throw new Error(`Token sign-in at ${url} gave ${res.status} and no cookie: ${res.body.slice(0, 200)}`)
  return cookies.join('; ')
}

/** curl from the phone, with its latchkey session. */
export function peerFetch(stage: Stage, cookie: string, url: string, init: PeerRequest = {}): Promise<PeerResponse> {
  return stage.peer.fetch(url, { ...init, headers: { cookie, ...init.headers } })
}
