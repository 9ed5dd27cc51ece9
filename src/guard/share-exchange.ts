/**
 * A share link's visit (`<app>?latchkey_share=<secret>`, on the app's port or under its
 * prefix) exchanged for a session scoped to that app, like `?token=` and `/remote-login?rt=`
 * (token-exchange.ts): the answer redirects to the same path without the secret, so it
 * leaves the address bar, history and Referer at once. The session lasts until the share
 * expires, counts against the session bounds like any other (issuer `share:<id>`), and is
 * one of the share's devices. A wrong secret is a guess, counted and limited.
 */
import type { Logger } from '../log.ts'
import type { Caller } from './identify.ts'
import { isSecure, type Connection } from './connection.ts'
import { sessionCookie } from './cookies.ts'
import { ApiError } from '../errors.ts'
import { attemptOf, type GuessLimiter } from './guess-limiter.ts'
import { safeLocation } from './token-exchange.ts'
import { SESSION_COOKIE, type SessionStore } from '../tokens/sessions.ts'
import { SHARE_PARAM, shareIssuer, type ShareStore } from '../tokens/shares.ts'

export interface ShareExchangeDeps {
  sessions: SessionStore
  shares: ShareStore
  log: Pick<Logger, 'info'>
  guard: { limiter: GuessLimiter }
}

const FAILURES: Record<'share_invalid' | 'share_expired', string> = {
  share_invalid: 'This share link is not valid: it was revoked, or cut short. Ask whoever shared it for a new link',
  share_expired: 'This share link has expired: ask whoever shared it for a new link',
}

/**
 * Whether the request carries a share link's secret. A substring test spares most requests a
 * parse (this runs on every app request); a name that may be percent-encoded is parsed.
 */
export function presentsShare(request: Request): boolean {
  const q = request.url.indexOf('?')
  if (q === -1) return false
  const search = request.url.slice(q + 1)
  return (search.includes(SHARE_PARAM) || search.includes('%')) && new URLSearchParams(search).has(SHARE_PARAM)
}

/**
 * Exchange a share visit to app `app` for a session: a 302 to the same path without the
 * secret, or the refusal (401 for a wrong or expired link, 403 for another app's link or a
 * link used up by its device limit, 429/503 from the session bounds or the guess limiter).
 */
export function exchangeShare(request: Request, conn: Connection, caller: Caller, app: string, deps: ShareExchangeDeps): Response | ApiError {
  const url = new URL(request.url)
  const location = safeLocation(url, [SHARE_PARAM])
  const redirect = (setCookie?: string) =>
    new Response(null, { status: 302, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...(setCookie ? { 'set-cookie': setCookie } : {}) } })
  const verdict = deps.shares.verify(url.searchParams.get(SHARE_PARAM))
  if (!verdict.ok) {
    const attempt = attemptOf(caller, conn)
    const limited = deps.guard.limiter.refusal(deps.guard.limiter.retryAfterMs(attempt), attempt)
    if (limited) return limited
    if (verdict.code === 'share_invalid') deps.guard.limiter.failed(attempt)
    deps.log.info('share link refused', { app, code: verdict.code, address: caller.address })
    return new ApiError(401, verdict.code, FAILURES[verdict.code])
  }
  const share = verdict.share
  if (share.app !== app) return new ApiError(403, 'share_other_app', `This share link opens the app "${share.app}", not "${app}"`)
  // Signed in already (this share's session, or a wider identity of one's own): nothing to use up.
  if (caller.scope?.share === share.id || (caller.role !== 'none' && !caller.scope)) return redirect()
  if (share.maxDevices !== null && share.opened >= share.maxDevices) {
    return new ApiError(403, 'share_device_limit', `This share link was opened on ${share.opened} device${share.opened === 1 ? '' : 's'}, its limit: ask whoever shared it for a new link`)
  }
  let created
  try {
    created = deps.sessions.create({
      role: 'viewer',
      issuer: shareIssuer(share.id),
      userAgent: request.headers.get('user-agent') ?? '',
      maxAgeMs: share.expiresAt - share.createdAt,
      // The share's own expiry: the session ends at the same instant as the share.
      expiresAt: share.expiresAt,
      durable: true,
      address: caller.address,
      scope: { share: share.id, app: share.app, viewOnly: share.viewOnly },
    })
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  const { secret, session } = created
  deps.shares.opened(share, session)
  deps.log.info('device signed in', { via: 'share', share: share.id, app, session: session.id, address: caller.address })
  const maxAgeSec = Math.max(1, Math.floor((session.expiresAt - session.createdAt) / 1000))
  return redirect(sessionCookie(SESSION_COOKIE, secret, { secure: isSecure(request, conn), maxAgeSec }))
}
