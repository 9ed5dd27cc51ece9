/**
 * Keyboard and screen-reader basics on every view (issue 8): every form control has a
 * label, every button and link has an accessible name, images have alt text, and the
 * keyboard reaches the controls with a visible focus ring.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { builtBinary } from './helpers/binary.ts'
import { launchBrowser, type TestBrowser } from './helpers/browser.ts'

setDefaultTimeout(30_000)
let lk: Latchkey
let browser: TestBrowser

beforeAll(async () => {
  lk = await startLatchkey({ binary: builtBinary(), args: ['--host', '0.0.0.0', '--allowed-origins', 'laptop.tailnet.ts.net'] })
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await lk?.stop()
})

describe('accessibility', () => {
  for (const view of ['remote', 'connect', 'apps', 'devices']) {
    it(`labels every control and names every button on the ${view} view`, async () => {
      const { page, problems } = await browser.page()
      await page.goto(lk.url(`/#${view}`))
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
      await page.waitForTimeout(300)
      const missing = await page.evaluate(() => {
        const visible = (el: Element) => !!(el as HTMLElement).offsetParent || (el as HTMLElement).getClientRects().length > 0
        const out: string[] = []
        for (const el of document.querySelectorAll('input, select, textarea')) {
          const input = el as HTMLInputElement
          if (input.type === 'hidden' || !visible(el)) continue
          const named = input.labels?.length || input.getAttribute('aria-label') || input.getAttribute('aria-labelledby') || input.title
          if (!named) out.push(`control without a label: ${el.outerHTML.slice(0, 120)}`)
        }
        for (const el of document.querySelectorAll('button, a[href]')) {
          if (!visible(el)) continue
          const name = (el.textContent ?? '').trim() || el.getAttribute('aria-label') || el.getAttribute('title')
          if (!name) out.push(`unnamed ${el.tagName.toLowerCase()}: ${el.outerHTML.slice(0, 120)}`)
        }
        for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) out.push(`image without alt: ${img.outerHTML.slice(0, 120)}`)
        return out
      })
      expect(missing).toEqual([])
      expect(problems.list).toEqual([])
    })
  }

  it('moves focus with Tab and shows a visible focus ring', async () => {
    const { page } = await browser.page()
    await page.goto(lk.url('/#remote'))
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
    const rings: string[] = []
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab')
      rings.push(await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null
        if (!el || el === document.body) return 'none'
        const s = getComputedStyle(el)
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 ? 'ring' : `no ring on ${el.tagName}`
      }))
    }
    expect(rings.filter((r) => r === 'ring').length).toBe(6)
  })
})
