/**
 * The two ways the dashboard reaches the API (token-guard reference, SSH-tunnel pattern):
 * through its own port alone (one forwarded port is enough), and on the API port named by
 * --api-base at run time, cross-origin with CORS and the CSP allowing exactly that origin.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { freePort } from '../../scripts/bench/lib.ts'
import { builtBinary } from './helpers/binary.ts'
import { launchBrowser, type TestBrowser } from './helpers/browser.ts'

setDefaultTimeout(30_000)
let browser: TestBrowser
const started: Latchkey[] = []

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  for (const lk of started) await lk.stop()
})

/** Open the dashboard and collect the origins its API calls went to. */
async function openDashboard(url: string) {
  const { page, problems } = await browser.page()
  const apiOrigins = new Set<string>()
  page.on('request', (r) => {
    const u = new URL(r.url())
    if (u.pathname.startsWith('/api/')) apiOrigins.add(u.origin)
  })
  await page.goto(url)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
  return { page, problems, apiOrigins }
}

describe('the dashboard and the API base', () => {
  it('talks to the API through its own port when no API base is set (one SSH forward is enough)', async () => {
    const lk = await startLatchkey({ binary: builtBinary() })
    started.push(lk)
    const { page, problems, apiOrigins } = await openDashboard(lk.url('/'))
    expect([...apiOrigins]).toEqual([`http://127.0.0.1:${lk.dashboardPort}`])
    expect(await page.textContent('body')).toContain('Remote access')
    expect(problems.list).toEqual([])
  })

  it('calls the API port named by --api-base, read at run time, cross-origin', async () => {
    const apiPort = await freePort()
    const lk = await startLatchkey({ binary: builtBinary(), args: ['--api-port', String(apiPort), '--api-base', `http://127.0.0.1:${apiPort}`] })
    started.push(lk)
    const csp = (await fetch(lk.url('/'))).headers.get('content-security-policy')!
    expect(csp).toContain(`connect-src 'self' http://127.0.0.1:${apiPort}`)
    const { page, problems, apiOrigins } = await openDashboard(lk.url('/'))
    expect([...apiOrigins]).toEqual([`http://127.0.0.1:${apiPort}`])
    // The status panel filled from the other port: CORS let the page read the answers.
    await page.waitForFunction(() => /stopped|running|starting|failed/.test(document.body.textContent ?? ''))
    expect(problems.list).toEqual([])
  })
})
