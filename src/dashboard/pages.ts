/** Small server-rendered pages: the "enter your token" page and plain messages. No scripts. */
import type { ApiError } from '../errors.ts'

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/**
 * How a page gets the dashboard's look: a link to its stylesheet (on the dashboard's own
 * origin), the stylesheet inline with a CSP that allows exactly it (on an app's port, where
 * every path is the app's and latchkey serves no file), or none (headless mode).
 */
export type PageStyle = { href: string } | { css: string; csp: string } | null

function page(title: string, body: string, style: PageStyle, referrer = 'no-referrer'): string {
  const sheet = style === null ? '' : 'href' in style ? `<link rel="stylesheet" href="${escapeHtml(style.href)}">` : `<style>${style.css}</style>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="${referrer}"><title>${escapeHtml(title)} · latchkey</title>
${sheet}</head>
<body class="plain-page"><main class="card narrow">${body}</main></body></html>`
}

/** A page as a response; an inline stylesheet brings the CSP that allows it. */
function pageResponse(html: string, status: number, headers: Record<string, string>, style: PageStyle): Response {
  return htmlResponse(html, status, style && 'csp' in style ? { ...headers, 'content-security-policy': style.csp } : headers)
}

export interface SignInPage {
  /** Where the form posts: the page's own path and query, without any token. */
  action: string
  message?: string
  reason?: string
  style: PageStyle
  /** The app this page stands in front of (an app's port or prefix); none: the dashboard. */
  app?: string
}

/**
 * 401 for browsers: a form that posts the token once, to be exchanged for a session cookie.
 * POST, so the token never lands in the URL, history or Referer. Its referrer policy is
 * `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null` with a
 * form post, which the sign-in must refuse as foreign.
 */
export function signInPage(opts: SignInPage, status = 401, headers: Record<string, string> = {}): Response {
  const html = page(
    'Sign in',
    `<h1>latchkey</h1>
<p>${opts.app ? `The app “${escapeHtml(opts.app)}” is protected by latchkey.` : 'This dashboard is protected.'} Enter the access token printed where latchkey was started, or scan the QR code from the dashboard's “Connect a device” panel on the machine itself.</p>
${opts.message ? `<p class="error" role="alert">${escapeHtml(opts.message)}</p>` : ''}
${opts.reason ? `<p class="hint">${escapeHtml(opts.reason)}</p>` : ''}
<form method="post" action="${escapeHtml(opts.action)}">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>`,
    opts.style,
    'same-origin',
  )
  return pageResponse(html, status, { ...headers, 'referrer-policy': 'same-origin' }, opts.style)
}

/** What a message page suggests doing next: a sentence, and optionally a same-origin link. */
export interface NextStep {
  text: string
  link?: { href: string; label: string }
}

/** A page with a title and a sentence saying what happened and what to do. */
export function messagePage(title: string, message: string, status: number, style: PageStyle, headers: Record<string, string> = {}, next?: NextStep): Response {
  const hint = next ? `<p class="hint">${escapeHtml(next.text)}</p>` : ''
  const link = next?.link ? `<p><a class="button" href="${escapeHtml(next.link.href)}">${escapeHtml(next.link.label)}</a></p>` : ''
  return pageResponse(page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${hint}${link}`, style), status, headers, style)
}

export function htmlResponse(html: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(html, { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers } })
}

/** The answer to a sign-in form that did not sign in: the form again (401), or a 429 page. */
export function signInRefused(opts: SignInPage & { limited: ApiError | null }): Response {
  if (opts.limited) return messagePage('Too many attempts', opts.limited.message, 429, opts.style, opts.limited.headers)
  return signInPage({ ...opts, message: WRONG_TOKEN })
}

export const WRONG_TOKEN = 'That token is not valid. Check for a typo, or get a new link.'
