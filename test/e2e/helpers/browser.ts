/**
 * Real headless Chromium (/usr/bin/chromium) for the e2e tests, on this machine or inside a
 * network namespace (the "remote device": a wrapper runs it under `ip netns exec`). Every
 * page records console errors, page errors and CSP violations, and can be screenshotted
 * into test/e2e/screens/.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, tempDir } from '../../helpers/latchkey.ts'

export const SCREENS = join(ROOT, 'test', 'e2e', 'screens')
export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 360, height: 740 }

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface Problems {
  list: string[]
  /** Forget what was recorded so far (before a deliberate failing request). */
  clear(): void
}

export interface TestBrowser {
  browser: Browser
  /** A fresh context (own cookies) and page, watched for problems. */
  page(opts?: { viewport?: { width: number; height: number }; phone?: boolean }): Promise<{ page: Page; context: BrowserContext; problems: Problems }>
  close(): Promise<void>
}

/** Launch Chromium; with `ns`, inside that network namespace. */
export async function launchBrowser(opts: { ns?: string } = {}): Promise<TestBrowser> {
  let executablePath = '/usr/bin/chromium'
  let wrapperDir: string | null = null
  if (opts.ns) {
    wrapperDir = tempDir('lk-chromium-')
    executablePath = join(wrapperDir, 'chromium-in-netns')
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${opts.ns} /usr/bin/chromium "$@"\n`)
    chmodSync(executablePath, 0o755)
  }
  const browser = await chromium.launch({ executablePath, args: ARGS, timeout: 30_000 })
  const contexts: BrowserContext[] = []
  return {
    browser,
    async page(o = {}) {
      const context = await browser.newContext({
        viewport: o.viewport ?? DESKTOP,
        isMobile: o.phone ?? false,
        hasTouch: o.phone ?? false,
        userAgent: o.phone ? 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36' : undefined,
      })
      contexts.push(context)
      const page = await context.newPage()
      const problems: Problems = { list: [], clear: () => void (problems.list.length = 0) }
      page.on('console', (m) => {
        if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.list.push(`console ${m.type()}: ${m.text()} (${page.url()})`)
      })
      page.on('pageerror', (e) => problems.list.push(`page error: ${e.message} (${page.url()})`))
      await page.exposeBinding('__lkCspViolation', (_src, v: string) => void problems.list.push(`CSP violation: ${v}`))
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          ;(window as any).__lkCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`)
        })
      })
      return { page, context, problems }
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {})
      await browser.close().catch(() => {})
      if (wrapperDir) rmSync(wrapperDir, { recursive: true, force: true })
    },
  }
}

/** Save a screenshot as test/e2e/screens/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENS, { recursive: true })
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true })
}

/** The RGBA pixels of an <img> drawn on a canvas (white behind it), for jsQR. */
export async function imagePixels(page: Page, selector: string, size = 360): Promise<{ data: Uint8ClampedArray; width: number; height: number }> {
  const base64 = await page.evaluate(
    async ({ sel, n }) => {
      const img = document.querySelector(sel) as HTMLImageElement
      if (!img.complete) await new Promise((r) => img.addEventListener('load', r, { once: true }))
      const canvas = document.createElement('canvas')
      canvas.width = canvas.height = n
      const ctx = canvas.getContext('2d')!
      ctx.fillStyle = '#fff'
      ctx.fillRect(0, 0, n, n)
      ctx.drawImage(img, 0, 0, n, n)
      const bytes = ctx.getImageData(0, 0, n, n).data
      let binary = ''
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
      return btoa(binary)
    },
    { sel: selector, n: size },
  )
  return { data: new Uint8ClampedArray(Buffer.from(base64, 'base64')), width: size, height: size }
}

/** The URLs in this tab's session history (Chromium DevTools protocol). */
export async function historyUrls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page)
  const { entries } = await cdp.send('Page.getNavigationHistory')
  await cdp.detach()
  return entries.map((e: { url: string }) => e.url)
}
