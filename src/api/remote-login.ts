/**
 * The login handoff (runbook §4.3, §5, §7): `GET /remote-login?rt=<token>` exchanges a login
 * token for a session cookie and redirects to `/` with no token in the Location, so the
 * secret leaves the address bar, history and Referer at once (DESIGN.md, "Sessions, not
 * tokens"). Failures are 401 `remote_token_missing | remote_token_expired |
 * remote_token_invalid`, 429 `too_many_attempts` or, from the session bounds, 429
 * `too_many_devices` / 503 `too_many_sessions`: JSON for API clients, a readable page for
 * browsers.
 * Also `POST /api/remote-access/auth/login-url` (`mode: persistent | short-lived`).
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import type { Caller } from '../guard/identify.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { callerOf } from '../guard/guard.ts'
import { connectionOf } from '../guard/connection.ts'
import { ApiError } from '../errors.ts'
import { buildLoginLink } from '../connect/login-url.ts'
import { messagePage, type NextStep, type PageStyle } from '../dashboard/pages.ts'
import { exchangeLoginToken } from '../guard/token-exchange.ts'
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

/** Our own pages need no script or image, and only the dashboard's stylesheet from this origin. */
const PAGE_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * The dashboard's stylesheet for a failure page: linked where this listener serves it, inline
 * (its hash in the CSP) on the API port, which serves /api only; none in headless mode.
 */
function styleFor(request: Request, services: Services): PageStyle {
  const styles = services.pageStyle
  if (!styles) return null
  return connectionOf(request)?.listener === 'api' ? styles.inline : styles.linked
}

/** What a person holding a dead link can do: get a new one where latchkey runs, or sign in with the token. */
function nextStep(request: Request, services: Services): NextStep {
  if (services.mode === 'headless') {
    return { text: 'Next: on the machine running latchkey, ask it for a new login link (its start log shows the command, a POST to /api/remote-access/auth/login-url), then open that link on this device.' }
  }
  const text = `Next: on the machine running latchkey, open its dashboard at http://localhost:${services.ports.dashboard}/#connect (“Connect a device”), make a new link or QR code there, and open it on this device.`
  // The API port serves no sign-in page; the dashboard port and the tunnels do.
  if (connectionOf(request)?.listener === 'api') return { text }
  return { text: `${text} If you have the access token, you can sign in with it instead.`, link: { href: '/', label: 'Sign in with the access token' } }
}

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

function failure(err: ApiError, json: boolean, title: string, page: { style: PageStyle; next?: NextStep }): Response {
  const headers = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...err.headers }
  if (json) return Response.json(err.toJSON(), { status: err.status, headers })
  // An inline style brings its own equally strict CSP (pages.ts), which replaces this one.
  return messagePage(title, err.message, err.status, page.style, { ...headers, 'content-security-policy': PAGE_CSP, 'x-frame-options': 'DENY' }, page.next)
}

/** Handle one `/remote-login` visit (see the module comment). */
export function remoteLogin(request: Request, caller: Caller, services: Services): Response {
  const rt = new URL(request.url).searchParams.get('rt')
  const json = wantsJson(request)
  const result = exchangeLoginToken(request, connectionOf(request)!, caller, rt, services)
  if (!result.ok) {
    const style = styleFor(request, services)
    if ('limited' in result) return failure(result.limited, json, 'Too many attempts', { style })
    if ('refused' in result) return failure(result.refused, json, 'Too many devices', { style })
    const f = FAILURES[result.code]
    return failure(new ApiError(401, result.code, f.message), json, f.title, { style, next: nextStep(request, services) })
  }
  const headers: Record<string, string> = {
    // A fixed path: nothing from the request (and so no token) reaches the Location.
    location: '/',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  }
  if (result.setCookie) headers['set-cookie'] = result.setCookie
  return new Response(null, { status: 302, headers })
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
