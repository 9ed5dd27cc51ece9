/**
 * The login handoff (runbook §4.3, §5, §7): `GET /remote-login?rt=<token>` exchanges a login
 * token for a session cookie and redirects to `/` with no token in the Location, so the
 * secret leaves the address bar, history and Referer at once (DESIGN.md, "Sessions, not
 * tokens"). Failures are 401 `remote_token_missing | remote_token_expired |
 * remote_token_invalid`: JSON for API clients, a readable page for browsers.
 * Also `POST /api/remote-access/auth/login-url` (`mode: persistent | short-lived`).
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import type { Caller } from '../guard/identify.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { callerOf } from '../guard/guard.ts'
import { connectionOf } from '../guard/connection.ts'
import { sessionCookie } from '../guard/cookies.ts'
import { ApiError } from '../errors.ts'
import { buildLoginLink } from '../connect/login-url.ts'
import { htmlResponse, messagePage } from '../dashboard/pages.ts'
import { isSecure } from '../guard/connection.ts'
import { attemptOf } from '../guard/guess-limiter.ts'
import { SESSION_COOKIE } from '../tokens/sessions.ts'
import type { LoginFailure } from '../tokens/login-tokens.ts'
import { model as tokenModel, noStore } from './remote-tokens.ts'

const FAILURES: Record<LoginFailure, { title: string; message: string }> = {
  remote_token_missing: {
    title: 'Incomplete login link',
    message: 'This login link has no token (rt=): open the whole link, or get a new one from the dashboard on the machine running latchkey',
  },
  remote_token_expired: {
    title: 'Login link expired',
    message: 'This login link has expired: generate a new one on the machine running latchkey and open it again',
  },
  remote_token_invalid: {
    title: 'Login link not valid',
    message: 'This login link is not valid: it was already used, its token was regenerated, or it was cut short. Get a new link from the machine running latchkey',
  },
}

/** Our own pages need no script, style or image from anywhere. */
const PAGE_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export const model = {
  loginUrl: t.Object({
    mode: t.Union([t.Literal('persistent'), t.Literal('short-lived')], { error: 'must be persistent or short-lived' }),
    ttlMs: tokenModel.link.properties.ttlMs,
    oneTime: tokenModel.link.properties.oneTime,
    role: tokenModel.link.properties.role,
  }),
}

/** API clients say so with Accept: application/json; everything else gets a page. */
function wantsJson(request: Request): boolean {
  const accept = request.headers.get('accept') ?? ''
  return accept.includes('application/json') && !accept.includes('text/html')
}

function failure(err: ApiError, json: boolean, title: string): Response {
  const headers = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...err.headers }
  if (json) return Response.json(err.toJSON(), { status: err.status, headers })
  return htmlResponse(messagePage(title, err.message, null), err.status, { ...headers, 'content-security-policy': PAGE_CSP, 'x-frame-options': 'DENY' })
}

/** Handle one `/remote-login` visit (see the module comment). */
export function remoteLogin(request: Request, caller: Caller, services: Services): Response {
  const conn = connectionOf(request)!
  const rt = new URL(request.url).searchParams.get('rt')
  const json = wantsJson(request)
  const attempt = attemptOf(caller, conn)
  if (rt) {
    const limited = services.guard.limiter.refusal(services.guard.limiter.retryAfterMs(attempt), attempt)
    if (limited) return failure(limited, json, 'Too many attempts')
  }
  // Note: link previews (chat apps) may send HEAD first; it must not use up a one-time
  // link or sign anything in, so HEAD only checks the token.
  const head = request.method === 'HEAD'
  const verdict = services.loginTokens.verify(rt, { consume: !head })
  if (!verdict.ok) {
    if (verdict.code !== 'remote_token_missing') services.guard.limiter.failed(attempt)
    services.log.info('remote login refused', { code: verdict.code, address: caller.address })
    const f = FAILURES[verdict.code]
    return failure(new ApiError(401, verdict.code, f.message), json, f.title)
  }
  if (head) return new Response(null, { status: 302, headers: { location: '/', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } })
  services.guard.limiter.succeeded(attempt)
  const { secret, session } = services.sessions.create({
    role: verdict.role,
    issuer: verdict.issuer,
    userAgent: request.headers.get('user-agent') ?? '',
    maxAgeMs: verdict.sessionMaxAgeMs,
    durable: verdict.durable,
  })
  services.log.info('device signed in', { via: verdict.tokenType, role: verdict.role, session: session.id, address: caller.address })
  return new Response(null, {
    status: 302,
    headers: {
      // A fixed path: nothing from the request (and so no token) reaches the Location.
      location: '/',
      'set-cookie': sessionCookie(SESSION_COOKIE, secret, { secure: isSecure(request, conn), maxAgeSec: Math.floor(verdict.sessionMaxAgeMs / 1000) }),
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    },
  })
}

export function remoteLoginRoutes(services: Services) {
  return new Elysia({ name: 'api.remote-login' })
    .use(guardPlugin(services.guard))
    // Public by design (runbook §7.1): it only accepts valid remote token material.
    .get('/remote-login', async ({ request }) => remoteLogin(request, await callerOf(request, services.guard), services), { role: 'public' })
    .post('/api/remote-access/auth/login-url', async ({ body }) => noStore(await buildLoginLink(services, body.mode, { ttlMs: body.ttlMs, oneTime: body.oneTime ?? false, role: body.role })), {
      role: 'admin',
      body: model.loginUrl,
    })
}
