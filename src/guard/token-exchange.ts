/**
 * A browser visit with `?token=` is exchanged for a session cookie and redirected to the
 * same path without the token, so the secret never stays in the address bar, history or
 * Referer (DESIGN.md, "Sessions, not tokens").
 */
import type { Logger } from '../log.ts'
import type { Caller } from './identify.ts'
import { isSecure, type Connection } from './connection.ts'
import { sessionCookie } from './cookies.ts'
import { SESSION_COOKIE, type SessionStore } from '../tokens/sessions.ts'

/** What an exchange needs: where sessions live, which token issues them, a log. */
export interface ExchangeDeps {
  sessions: SessionStore
  accessToken: { readonly issuer: string; readonly fixed: boolean }
  log: Pick<Logger, 'info'>
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

/** Issue a session for a caller who proved the access token, and redirect without it. */
export function exchangeAccessToken(request: Request, conn: Connection, caller: Caller, deps: ExchangeDeps): Response {
  const { secret, session } = deps.sessions.create({
    role: 'admin',
    issuer: deps.accessToken.issuer,
    userAgent: request.headers.get('user-agent') ?? '',
    maxAgeMs: SESSION_DAYS * 86400000,
    durable: deps.accessToken.fixed,
  })
  deps.log.info('device signed in', { via: 'access-token', session: session.id, address: caller.address })
  return new Response(null, {
    status: 302,
    headers: {
      location: safeLocation(new URL(request.url), ['token']),
      'set-cookie': sessionCookie(SESSION_COOKIE, secret, { secure: isSecure(request, conn), maxAgeSec: SESSION_DAYS * 86400 }),
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    },
  })
}
