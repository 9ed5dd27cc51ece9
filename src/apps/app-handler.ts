/**
 * The AppHandler the dispatcher calls for app listeners and path-mode paths: the guard
 * (the same identify() as the dashboard, the app's own minimum role), pause, then the HTTP
 * or WebSocket proxy, and one access-log line per request.
 */
import type { AppHandler } from '../server/dispatch.ts'
import type { Services } from '../context.ts'
import type { Connection } from '../guard/connection.ts'
import type { RequestContext } from '../runtime/index.ts'
import { presented, type Caller } from '../guard/identify.ts'
import { appRefusal, callerOf } from '../guard/guard.ts'
import { exchangeShare, presentsShare } from '../guard/share-exchange.ts'
import { requestOrigin } from '../guard/same-origin.ts'
import { ApiError } from '../errors.ts'
import { messagePage, signInPage, signInRefused, type PageStyle } from '../dashboard/pages.ts'
import { exchangeAccessToken, isNavigation, safeLocation, signInWithForm } from '../guard/token-exchange.ts'
import { isSecure } from '../guard/connection.ts'
import type { AppEntry, AppRegistry } from './registry.ts'
import type { HealthMonitor } from './health.ts'
import { isoNow, type AccessLog } from './access-log.ts'
import { upstreamHeaders } from './proxy-headers.ts'
import { clientResponse, cutWhen, sendUpstream } from './http-proxy.ts'
import { UpstreamError } from './upstream-error.ts'
import { requestTarget } from './request-target.ts'
import { unsafeAppPath } from './path-safety.ts'
import type { CookieOwners } from './cookie-owners.ts'
import { isWebSocketUpgrade, proxyWebSocket, webSocketOriginAllowed } from './ws-proxy.ts'

export interface AppHandlerDeps {
  services: Services
  registry: AppRegistry
  /** Which app set which cookie: each app receives only its own (and unclaimed ones). */
  cookies: CookieOwners
  health: HealthMonitor
  accessLog: AccessLog
  /**
   * How long an app may stay silent, unless it sets its own `timeout`: no response head or
   * WebSocket accept (502), or a response body that sends nothing (the connection is cut).
   * Read per request: a config reload may change it.
   */
  timeoutMs: () => number
  /** The dashboard's look for latchkey's own pages on app ports (inline: every path is the app's). */
  pageStyle: PageStyle
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])
const SILENCE_MARGIN_SECONDS = 5

/** The identity written to the access log and the identity headers (never a secret). */
export function identityOf(caller: Caller): string {
  return caller.tailscale?.id ? `tailscale:${caller.tailscale.id}` : caller.tailscale ? `tailscale-login:${caller.tailscale.loginName}` : caller.key
}

/** Titles of latchkey's own pages on app ports, by status. */
const TITLES: Record<number, string> = { 401: 'Link not valid', 400: 'Bad address', 403: 'Not allowed', 404: 'No such app', 429: 'Too many attempts', 502: 'App not answering', 503: 'App paused' }

/** What a refusal needs to be answered, logged and recorded. */
interface Refused {
  request: Request
  path: string
  started: number
  app: AppEntry | undefined
  caller: Caller | null
}

export function createAppHandler(deps: AppHandlerDeps): AppHandler {
  const { services, registry, health, accessLog } = deps

  /**
   * A refusal a person can act on: for a browser a page in the dashboard's style saying
   * what to do, for anything else JSON. Each one is logged, and shows in the app's access log.
   */
  function refuse(r: Refused, err: ApiError): Response {
    note(r, err.status, err.code)
    if (isNavigation(r.request)) return messagePage(TITLES[err.status] ?? 'Refused', err.message, err.status, deps.pageStyle, err.headers)
    return err.toResponse()
  }

  function note(r: Refused, status: number, code: string): void {
    const method = isWebSocketUpgrade(r.request) ? 'WS' : r.request.method
    services.log.info('app request refused', { app: r.app?.spec.name ?? '(none)', status, code, method, path: r.path, address: r.caller?.address })
    if (!r.app) return
    const ms = performance.now() - r.started
    accessLog.record(r.app.spec.name, {
      time: isoNow(),
      identity: r.caller ? identityOf(r.caller) : 'anonymous',
      method,
      path: r.path,
      status,
      bytes: 0,
      durationMs: Math.round(ms),
    })
    services.metrics.appRequest(r.app.spec.name, status, 0, ms / 1000)
  }

  // A share link's session that ends (revoked, or its share expired) closes the WebSockets
  // and cuts the response bodies it is still receiving, within the second; new requests are
  // refused from then on by the guard.
  const endings = new Map<string, AbortController>()
  services.sessions.on((what, s) => {
    if (what === 'revoked') endings.get(s.id)?.abort()
  })
  const endOf = (session: { id: string; expiresAt: number }): AbortSignal => {
    let ending = endings.get(session.id)
    if (!ending) {
      const c = (ending = new AbortController())
      endings.set(session.id, c)
      const timer = setTimeout(() => c.abort(), Math.max(0, session.expiresAt - Date.now()))
      ;(timer as { unref?: () => void }).unref?.()
      c.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        endings.delete(session.id)
      }, { once: true })
    }
    return ending.signal
  }

  const targets = new Map<string, URL>()
  const targetOf = (app: AppEntry) => {
    let url = targets.get(app.spec.target)
    if (!url) targets.set(app.spec.target, (url = new URL(app.spec.target)))
    return url
  }

  async function handle(request: Request, conn: Connection, ctx: RequestContext): Promise<Response | undefined> {
    const started = performance.now()
    const { path, search } = requestTarget(request.url)
    const app = conn.listener === 'app' ? registry.get(conn.app ?? '') : registry.matchPath(path)
    if (!app || (conn.listener === 'app' && app.spec.port === undefined)) {
      return refuse({ request, path, started, app: undefined, caller: null }, new ApiError(404, 'app_not_found', 'No app is served at this address any more: open the dashboard to see the apps there are'))
    }
    const known = callerOf(request, services.guard)
    // Awaited only when a lookup is pending: an await costs a turn of the microtask queue.
    const caller = known instanceof Promise ? await known : known
    // Wrong credentials count as guesses here as on the dashboard (the limiter answers once per request).
    const limited = services.guard.limiter.account(request, caller, conn)
    if (limited) {
      services.guard.decided(caller.via, 429)
      return refuse({ request, path, started, app, caller }, limited)
    }
    // A share link's visit: a session for this app only (src/guard/share-exchange.ts). Its
    // secret never reaches the app, whatever the method.
    if (presentsShare(request)) {
      const shared = request.method === 'GET' ? exchangeShare(request, conn, caller, app.spec.name, services) : new ApiError(400, 'share_needs_get', 'A share link opens with GET, as a browser does: open it in a browser')
      return shared instanceof ApiError ? refuse({ request, path, started, app, caller }, shared) : shared
    }
    const secrets = latchkeySecrets(services)
    // Path mode is on the dashboard listener, which exchanges ?token= itself; app listeners do it here.
    if (conn.listener === 'app' && (request.method === 'GET' || request.method === 'HEAD') && caller.via === 'access-token' && presented(request).query !== null && isNavigation(request)) {
      return exchangeAccessToken(request, conn, caller, services)
    }
    const posted = signInWithForm(request, conn, caller, services)
    const form = posted && (await posted)
    if (form?.ok) return form.response
    if (form) {
      note({ request, path, started, app, caller }, form.limited ? 429 : 401, form.limited ? form.limited.code : 'unauthorized')
      return signInRefused({ action: signInAction(request), limited: form.limited, reason: caller.reason, style: deps.pageStyle, app: app.spec.name })
    }
    // A share link's session reaches its own app only (src/guard/scope.ts); others need the app's role.
    const refused = appRefusal(caller, { name: app.spec.name, role: app.spec.role }, request.method, isWebSocketUpgrade(request))
    services.guard.decided(caller.via, refused ? refused.status : 'admitted')
    if (refused) {
      if (refused.status === 401 && isNavigation(request)) {
        note({ request, path, started, app, caller }, 401, refused.code)
        return signInPage({ action: signInAction(request), reason: caller.reason, style: deps.pageStyle, app: app.spec.name }, 401, refused.headers)
      }
      return refuse({ request, path, started, app, caller }, refused)
    }
    // After the guard (a stranger learns nothing of the app's prefix), before anything is forwarded.
    const unsafe = conn.listener === 'app' ? null : unsafeAppPath(request.url)
    if (unsafe) return refuse({ request, path, started, app, caller }, new ApiError(400, 'bad_path', `Cannot open this address: ${unsafe}`))
    const origin = request.headers.get('origin')
    const websocket = isWebSocketUpgrade(request)
    const guarded = websocket || !SAFE.has(request.method)
    // Our own origin, worked out only when something is compared with it.
    const self = origin !== null || guarded ? requestOrigin(request) : null
    // A foreign page must not drive the app with the user's credentials: WebSocket
    // handshakes always, other requests when they change state (GET stays linkable). Only
    // the app's own origin counts: the dashboard's, or another app's, is a foreign page here.
    if (guarded) {
      const site = request.headers.get('sec-fetch-site')
      if (!webSocketOriginAllowed(origin, self) || (origin === null && (site === 'cross-site' || site === 'same-site'))) {
        const what = websocket ? 'WebSocket' : 'state-changing request'
        return refuse({ request, path, started, app, caller }, new ApiError(403, 'cross_origin_refused', `Refused a ${what} from another site: open the app at this address and try again`))
      }
    }
    if (app.paused) {
      return refuse({ request, path, started, app, caller }, new ApiError(503, 'app_paused', `"${app.spec.name}" is paused by an admin; it answers again once resumed`, undefined, { 'retry-after': '30' }))
    }

    const timeoutMs = app.spec.timeout !== undefined ? app.spec.timeout * 1000 : deps.timeoutMs()
    const target = targetOf(app)
    const prefix = conn.listener === 'app' ? undefined : app.spec.path
    const headers = upstreamHeaders(request.headers, {
      caller,
      secrets,
      host: request.headers.get('host') ?? '',
      proto: isSecure(request, conn) ? 'https' : 'http',
      identityHeaders: app.spec.identityHeaders,
      prefix,
      sendsCookie: (name) => deps.cookies.sends(app.spec.name, name),
    })
    // latchkey has checked the origin; the app sees its own, so its own CSRF check agrees.
    if (origin !== null && origin.toLowerCase() === self) headers.set('origin', target.origin)
    const upstreamUrl = app.spec.target + path + withoutSecrets(search, secrets)
    const log = (status: number, bytes: number) => {
      const ms = performance.now() - started
      accessLog.record(app.spec.name, {
        time: isoNow(),
        identity: identityOf(caller),
        method: websocket ? 'WS' : request.method,
        path,
        status,
        bytes,
        durationMs: Math.round(ms),
      })
      services.metrics.appRequest(app.spec.name, status, bytes, ms / 1000)
    }

    try {
      if (websocket) {
        for (const name of [...headers.keys()]) if (name.startsWith('sec-websocket-')) headers.delete(name)
        const protocols = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean)
        const res = await proxyWebSocket(ctx, {
          url: upstreamUrl.replace(/^http/, 'ws'),
          headers,
          protocols,
          timeoutMs,
          onClose: (bytes) => log(101, bytes),
          ended: caller.scope && caller.session ? endOf(caller.session) : undefined,
        })
        health.report(app.spec.name, true)
        return res
      }
      // The listener's idle timeout keeps slow clients out; an admitted request to an app may
      // stay silent as long as the app may (a long poll), and a little longer, so that the
      // 502 for an app that never answers still reaches the client.
      ctx.allowSilence(Math.ceil(timeoutMs / 1000) + SILENCE_MARGIN_SECONDS)
      const answer = await sendUpstream({
        url: upstreamUrl,
        method: request.method,
        headers,
        body: request.body,
        clientGone: () => request.signal.aborted,
        timeoutMs,
      })
      health.report(app.spec.name, true)
      if (answer.headers.has('set-cookie')) deps.cookies.learn(app.spec.name, answer.headers.getSetCookie())
      const res = clientResponse(answer, request.method, { target, prefix }, log)
      // A share's session loses what it is still receiving when the share ends.
      return caller.scope && caller.session ? cutWhen(res, endOf(caller.session)) : res
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err
      // One slow path is not a dead app, nor is a client that left; a refused or failed connection is.
      if (err.kind === 'refused' || err.kind === 'failed') health.report(app.spec.name, false, err.message)
      services.log.warn('app unreachable', { app: app.spec.name, reason: err.kind })
      const why = `latchkey could not reach "${app.spec.name}": ${err.message}. Check that it is running at its configured address, then reload`
      return refuse({ request, path, started, app, caller }, new ApiError(502, 'app_unreachable', why))
    }
  }

  return {
    handle: handle as AppHandler['handle'],
    ownsPath: (path) => registry.matchPath(path) !== undefined,
  }
}

/** Where the sign-in form on an app page posts: the same path and query, less any token. */
function signInAction(request: Request): string {
  return safeLocation(new URL(request.url), ['token'])
}

/** latchkey's access token and API key, which never reach an app. */
function latchkeySecrets(services: Services): string[] {
  const token = services.guard.options.accessToken()
  const apiKey = services.guard.options.apiKey
  return apiKey ? (token ? [token, apiKey] : [apiKey]) : token ? [token] : []
}

/**
 * The query to forward: as sent, less any parameter whose value is one of latchkey's
 * secrets (`?token=` of a connect link, under any name). An app's own `token` (Jupyter's,
 * Vite's HMR socket's) passes through unchanged.
 */
function withoutSecrets(search: string, secrets: readonly string[]): string {
  // Most queries hold neither a secret nor an escape that could spell one: sent as they are.
  if (!search || (!search.includes('%') && !secrets.some((s) => search.includes(s)))) return search
  const params = [...new URLSearchParams(search)]
  const kept = params.filter(([, value]) => !secrets.includes(value))
  if (kept.length === params.length) return search
  const rest = new URLSearchParams(kept).toString()
  return rest ? `?${rest}` : ''
}
