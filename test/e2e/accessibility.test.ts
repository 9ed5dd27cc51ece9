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

/**
 * WCAG 2.1 AA contrast (1.4.3) of every visible piece of text on a page: 4.5:1, or 3:1 for
 * large text (24px, or 18.66px bold). The background is the first opaque one behind the
 * text, with translucent layers composited on the way. Disabled controls are exempt, as WCAG
 * allows. Runs in the page.
 */
function scanContrast(): { checked: number; low: string[] } {
  type RGBA = [number, number, number, number]
  const parse = (c: string): RGBA => {
    const m = /rgba?\(([^)]+)\)/.exec(c)
    if (!m) return [0, 0, 0, 0]
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number)
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]
  }
  const over = (top: RGBA, under: RGBA): RGBA => {
    const a = top[3] + under[3] * (1 - top[3])
    if (a === 0) return [0, 0, 0, 0]
    const mix = (i: number) => (top[i] * top[3] + under[i] * under[3] * (1 - top[3])) / a
    return [mix(0), mix(1), mix(2), a]
  }
  const luminance = ([r, g, b]: RGBA) => {
    const lin = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
  }
  /** The background behind `el`: its own and its ancestors' colours, composited down to the page. */
  const backgroundOf = (el: Element | null): RGBA => {
    const layers: RGBA[] = []
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor)
      if (bg[3] > 0) layers.push(bg)
      if (bg[3] >= 1) break
    }
    let out: RGBA = [255, 255, 255, 1]
    for (const layer of layers.reverse()) out = over(layer, out)
    return out
  }
  const out: string[] = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  const seen = new Set<Element>()
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement
    if (!el || seen.has(el) || !(n.textContent ?? '').trim()) continue
    seen.add(el)
    const s = getComputedStyle(el)
    const box = el.getBoundingClientRect()
    if (box.width === 0 || box.height === 0 || s.visibility === 'hidden' || Number(s.opacity) === 0) continue
    if (el.closest('[disabled], [aria-disabled="true"], [hidden]')) continue
    const bg = backgroundOf(el)
    const fg = over(parse(s.color), bg)
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a)
    const ratio = (hi + 0.05) / (lo + 0.05)
    const size = parseFloat(s.fontSize)
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700)
    if (ratio < (large ? 3 : 4.5)) out.push(`${ratio.toFixed(2)}:1 ${el.tagName.toLowerCase()}.${el.className} "${(n.textContent ?? '').trim().slice(0, 40)}" (${s.color} on rgb(${bg.slice(0, 3).map(Math.round).join(', ')}))`)
  }
  return { checked: seen.size, low: out }
}

async function openView(view: string, scheme: 'light' | 'dark') {
  const { page, problems } = await browser.page()
  await page.emulateMedia({ colorScheme: scheme })
  await page.goto(lk.url(`/#${view}`))
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
  await page.waitForTimeout(300)
  return { page, problems }
}

describe('contrast', () => {
  for (const scheme of ['light', 'dark'] as const) {
    for (const view of ['remote', 'connect', 'apps', 'devices']) {
      it(`meets AA contrast on the ${view} view (${scheme})`, async () => {
        const { page, problems } = await openView(view, scheme)
        const { checked, low } = await page.evaluate(scanContrast)
        // A scan that found no text would pass for the wrong reason.
        expect(checked).toBeGreaterThan(10)
        expect(low).toEqual([])
        expect(problems.list).toEqual([])
      })
    }
  }

  for (const scheme of ['light', 'dark'] as const) {
    it(`meets AA contrast on the "enter your token" page (${scheme})`, async () => {
      const { page, problems } = await browser.page()
      await page.emulateMedia({ colorScheme: scheme })
      // Tunnel ingress is never the local user: a browser there gets the token page.
      const res = await page.goto(`http://127.0.0.1:${lk.cloudflareIngressPort}/`)
      expect(res?.status()).toBe(401)
      const { checked, low } = await page.evaluate(scanContrast)
      expect(checked).toBeGreaterThan(2)
      expect(low).toEqual([])
      problems.clear()
    })
  }

  it('reports text that is too faint (the check itself can fail)', async () => {
    const { page } = await openView('remote', 'light')
    // Through the CSSOM: the page's CSP refuses inline style sheets.
    const faded = await page.evaluate(() => {
      const els = [...document.querySelectorAll('h1, h2, p')] as HTMLElement[]
      for (const el of els) el.style.color = '#c8c8c8'
      return els.length
    })
    expect(faded).toBeGreaterThan(0)
    const { low } = await page.evaluate(scanContrast)
    expect(low.length).toBeGreaterThan(0)
    expect(low[0]).toMatch(/^1\.\d\d:1 /)
  })
})
