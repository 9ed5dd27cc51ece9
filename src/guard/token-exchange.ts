/**
 * Credentials exchanged for a session cookie (DESIGN.md, "Sessions, not tokens"): a browser
 * visit with `?token=` (the access token), and `/remote-login?rt=` (a login token, runbook
 * §4.3). The answer redirects to a path without the secret, so it never stays in the
 * address bar, history or Referer. A valid credential always signs in, whatever the guess
 * limiter says; a wrong login token counts as a guess.
 */
import type { Logger } from '../log.ts'
import type { Caller } from './identify.ts'
import { isSecure, type Connection } from './connection.ts'
import { sessionCookie } from './cookies.ts'
import { SESSION_COOKIE, type NewSession, type SessionRecord, type SessionStore } from '../tokens/sessions.ts'
import type { LoginFailure, LoginTokens } from '../tokens/login-tokens.ts'
import { ApiError } from '../errors.ts'
import { messagePage } from '../dashboard/pages.ts'
import { attemptOf, type GuessLimiter } from './guess-limiter.ts'
import { requestOrigin } from './same-origin.ts'
import { matchSecret } from '../tokens/secrets.ts'

/** What an exchange needs: where sessions live, which token issues them, a log. */
export interface ExchangeDeps {
  sessions: SessionStore
  accessToken: { readonly value: string; readonly issuer: string; readonly fixed: boolean }
  log: Pick<Logger, 'info'>
  guard: { limiter: GuessLimiter }
}

const SESSION_DAYS = 30

/** A top-level browser navigation (not fetch, not an image). */
export function isNavigation(request: Request): boolean {
  const mode = request.headers.get('sec-fetch-mode')
  if (mode) return mode === 'navigate'
  return (request.headers.get('accept') ?? '').includes('text/html')
}

/**
 * A same-origin redirect target: the path with leading slashes and backslashes folded to
 * one slash (so `//evil.example/` cannot become a protocol-relative URL), plus the query
 * without the named secret parameters.
 */
export function safeLocation(url: URL, drop: readonly string[]): string {
  const path = url.pathname.replace(/^[/\\]+/, '/')
  const params = new URLSearchParams(url.search)
  for (const name of drop) params.delete(name)
  const query = params.toString()
  return path + (query ? `?${query}` : '')
}

/**
 * Issue a session for a caller who proved the access token, and redirect to the same path
 * without it: 302 after a `?token=` visit, 303 (a GET) after the sign-in form's POST. When
 * the session bounds refuse (too many devices), say so: a page for a navigation, else JSON.
 */
export function exchangeAccessToken(request: Request, conn: Connection, caller: Caller, deps: ExchangeDeps, status: 302 | 303 = 302): Response {
  const created = createSession(deps, {
    role: 'admin',
    issuer: deps.accessToken.issuer,
    userAgent: request.headers.get('user-agent') ?? '',
    maxAgeMs: SESSION_DAYS * 86400000,
    durable: deps.accessToken.fixed,
    address: caller.address,
  })
  if ('refused' in created) {
    const err = created.refused
    deps.log.info('device sign-in refused', { via: 'access-token', code: err.code, address: caller.address })
    const headers = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...err.headers }
    if (!isNavigation(request)) return Response.json(err.toJSON(), { status: err.status, headers })
    return messagePage('Too many devices', err.message, err.status, null, headers)
  }
  const { secret, session } = created
  deps.log.info('device signed in', { via: 'access-token', session: session.id, address: caller.address })
  return new Response(null, {
    status,
    headers: {
      location: safeLocation(new URL(request.url), ['token']),
      'set-cookie': sessionCookie(SESSION_COOKIE, secret, { secure: isSecure(request, conn), maxAgeSec: SESSION_DAYS * 86400 }),
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    },
  })
}

/** SessionStore.create, with a refusal of the session bounds as a value. */
function createSession(deps: ExchangeDeps, spec: NewSession): { secret: string; session: SessionRecord } | { refused: ApiError } {
  try {
    return deps.sessions.create(spec)
  } catch (err) {
    if (err instanceof ApiError) return { refused: err }
    throw err
  }
}

export interface LoginExchangeDeps extends ExchangeDeps {
  loginTokens: LoginTokens
}

export type LoginExchange =
  | { ok: true; role: 'admin' | 'viewer'; tokenType: string; sessionId: string | null; setCookie: string | null }
  | { ok: false; code: LoginFailure }
  | { ok: false; limited: ApiError }
  | { ok: false; refused: ApiError }

/**
 * Check an `rt` login token and sign the device in. The token is checked first, always: a
 * valid one signs in even while this client or its tunnel is over the guess budget (the
 * budget slows wrong guesses only), and never resets the count of a client that keeps
 * guessing. A wrong one is counted, and answered 429 once over budget. HEAD (link previews)
 * only checks the token: it signs nothing in and does not use up a one-time link.
 */
export function exchangeLoginToken(request: Request, conn: Connection, caller: Caller, rt: string | null, deps: LoginExchangeDeps): LoginExchange {
  const head = request.method === 'HEAD'
  // A one-time link is used up only once it signs a device in (below), so a sign-in the
  // session bounds refuse leaves it working for a retry.
  const verdict = deps.loginTokens.verify(rt, { consume: false })
  if (!verdict.ok) {
    if (verdict.code !== 'remote_token_missing') {
      const attempt = attemptOf(caller, conn)
      const limited = deps.guard.limiter.refusal(deps.guard.limiter.retryAfterMs(attempt), attempt)
      if (limited) return { ok: false, limited }
      deps.guard.limiter.failed(attempt)
    }
    deps.log.info('remote login refused', { code: verdict.code, address: caller.address })
    return { ok: false, code: verdict.code }
  }
  if (head) return { ok: true, role: verdict.role, tokenType: verdict.tokenType, sessionId: null, setCookie: null }
  const created = createSession(deps, {
    role: verdict.role,
    issuer: verdict.issuer,
    userAgent: request.headers.get('user-agent') ?? '',
    maxAgeMs: verdict.sessionMaxAgeMs,
    durable: verdict.durable,
    address: caller.address,
  })
  if ('refused' in created) {
    deps.log.info('device sign-in refused', { via: verdict.tokenType, code: created.refused.code, address: caller.address })
    return { ok: false, refused: created.refused }
  }
  deps.loginTokens.consume(rt!)
  const { secret, session } = created
  deps.log.info('device signed in', { via: verdict.tokenType, role: verdict.role, session: session.id, address: caller.address })
  const setCookie = sessionCookie(SESSION_COOKIE, secret, { secure: isSecure(request, conn), maxAgeSec: Math.floor(verdict.sessionMaxAgeMs / 1000) })
  return { ok: true, role: verdict.role, tokenType: verdict.tokenType, sessionId: session.id, setCookie }
}

/** The sign-in form's body is one short field: anything longer is not that form. */
const MAX_FORM_BYTES = 4096

export type FormSignIn = { ok: true; response: Response } | { ok: false; limited: ApiError | null }

/**
 * The "enter your token" page posts the token as a form field, so it never lands in the
 * URL, history or Referer. Only a request nothing else admits is read this way (an
 * admitted one is the app's own form, and its body the app's), only from the page's own
 * origin, and only a short urlencoded body with a `token` field. A right token signs in
 * (303 to the same path); a wrong one is a guess like any other. Null: not such a post.
 */
export function signInWithForm(request: Request, conn: Connection, caller: Caller, deps: ExchangeDeps): Promise<FormSignIn | null> | null {
  // Checked without a promise: this runs before every unadmitted page and app request.
  if (request.method !== 'POST' || caller.role !== 'none' || caller.local || caller.denied) return null
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) return null
  const origin = request.headers.get('origin')
  const site = request.headers.get('sec-fetch-site')
  if (origin !== null ? origin.toLowerCase() !== requestOrigin(request) : site !== null && site !== 'same-origin' && site !== 'none') return null
  const length = Number(request.headers.get('content-length') ?? NaN)
  if (!(length <= MAX_FORM_BYTES)) return null
  return request.text().then((body): FormSignIn | null => {
    const token = new URLSearchParams(body).get('token')
    if (token === null) return null
    if (matchSecret(token, [deps.accessToken.value]) === 0) return { ok: true, response: exchangeAccessToken(request, conn, caller, deps, 303) }
    const attempt = attemptOf(caller, conn)
    const limited = deps.guard.limiter.refusal(deps.guard.limiter.retryAfterMs(attempt), attempt)
    if (!limited) deps.guard.limiter.failed(attempt)
    return { ok: false, limited }
  })
}
