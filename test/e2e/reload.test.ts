/**
 * The dashboard shows the last config reload (issue 20, part 3) in real headless Chromium
 * against the compiled binary: under "This machine", a refused file with its line and column,
 * then a reload that applied, each arriving live (GET /api/remote/events) with no page reload,
 * and no console error or CSP violation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { builtBinary } from './helpers/binary.ts'
import { launchBrowser, screenshot, type TestBrowser } from './helpers/browser.ts'
import { e2eKit, ready } from './helpers/kit.ts'

setDefaultTimeout(30_000)

let lk: Latchkey
let browser: TestBrowser
const kit = e2eKit(() => lk)

beforeAll(async () => {
  lk = await startLatchkey({ binary: builtBinary(), yaml: 'allowedOrigins: [one.example]\n' })
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await lk?.stop()
  kit.stop()
})

afterEach(() => kit.expectNoProblems())

describe('dashboard: last config reload', () => {
  it('shows a refused file with its line and column, then an applied reload, live', async () => {
    const { page } = await kit.open(browser, lk.url('/#remote'))
    await ready(page)
    const line = page.locator('[data-reload-status]')
    // Nothing reloaded yet: no line.
    expect(await line.isHidden()).toBe(true)

    writeFileSync(join(lk.dataDir, 'latchkey.yaml'), 'allowedOrigins: [one.example]\nappTimeoutMs: soon\n')
    await page.waitForSelector('[data-reload-status][data-reload-ok="false"]:not([hidden])')
    const refused = await line.textContent()
    expect(refused).toContain('Config reload refused')
    expect(refused).toContain('latchkey.yaml changed')
    expect(refused).toContain('line 2, column 15: "appTimeoutMs" must be a whole number of milliseconds')
    expect(refused).toContain('The running configuration is unchanged.')
    await screenshot(page, 'reload-refused')

    writeFileSync(join(lk.dataDir, 'latchkey.yaml'), 'allowedOrigins: [two.example]\nhost: 127.0.0.2\n')
    await page.waitForSelector('[data-reload-status][data-reload-ok="true"]')
    const applied = await line.textContent()
    expect(applied).toContain('Config reloaded')
    expect(applied).toContain('applied allowedOrigins.')
    expect(applied).toContain('Restart needed')
    expect(applied).toContain('for host.')
    // The facts above follow the reload without a page load.
    await page.waitForFunction(() => document.querySelector('[data-machine-facts]')?.textContent?.includes('two.example'))
    await screenshot(page, 'reload-applied')
  })
})
