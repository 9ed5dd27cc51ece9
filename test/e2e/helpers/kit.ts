/**
 * What the dashboard e2e suites share: small pages for apps to proxy, calls to the local API,
 * and pages whose problems (console errors, CSP violations) each test must end without.
 */
import type { Page } from 'playwright-core'
import { expect } from 'bun:test'
import { curlFrom } from '../../helpers/netns.ts'
import type { Latchkey } from '../../helpers/latchkey.ts'
import type { Problems, TestBrowser } from './browser.ts'

export interface E2eKit {
  /** Upstreams started by serveTitle, in order. */
  readonly upstreams: ReturnType<typeof Bun.serve>[]
  /** A page titled `title` (an app to detect and proxy). */
  serveTitle(title: string, hostname?: string): ReturnType<typeof Bun.serve>
  /** GET (or POST with a JSON body) on the local API, as the local user; throws on 4xx/5xx. */
  localApi(path: string, body?: unknown): Promise<any>
  /** A fresh page at `url`, its problems watched until the end of the test. */
  open(browser: TestBrowser, url: string, opts?: { viewport?: { width: number; height: number }; phone?: boolean }): Promise<{ page: Page; problems: Problems }>
  /** After each test: no page it opened logged a problem (`more` adds long-lived pages). */
  expectNoProblems(more?: Problems[]): void
  stop(): void
}

export function e2eKit(lk: () => Latchkey): E2eKit {
  const upstreams: ReturnType<typeof Bun.serve>[] = []
  let watched: Problems[] = []
  return {
    upstreams,
    serveTitle(title, hostname = '127.0.0.1') {
      const server = Bun.serve({ hostname, port: 0, fetch: () => new Response(`<!doctype html><title>${title}</title><h1>${title}</h1>`, { headers: { 'content-type': 'text/html' } }) })
      upstreams.push(server)
      return server
    },
    async localApi(path, body) {
      const res = await curlFrom(null, lk().url(path), body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      if (res.status >= 400) throw new Error(`${path}: ${res.status} ${res.body}`)
      return res.json()
    },
    async open(browser, url, opts = {}) {
      const { page, problems } = await browser.page(opts)
      watched.push(problems)
      await page.goto(url)
      return { page, problems }
    },
    expectNoProblems(more = []) {
      const all = [...watched, ...more].flatMap((p) => p.list)
      watched = []
      for (const p of more) p.clear()
      expect(all).toEqual([])
    },
    stop() {
      for (const s of upstreams) s.stop(true)
    },
  }
}

/** The dashboard has loaded and drawn its first status. */
export async function ready(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 })
}
