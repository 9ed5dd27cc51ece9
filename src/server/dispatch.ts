/**
 * One request handler per listener kind. It records the connection for the guard, refuses
 * bad Host headers, exchanges `?token=` visits for sessions, and sends each path to the API,
 * the embedded dashboard, or an app. Every answer leaves with the security headers, and
 * answers to refused origins leave with no CORS header.
 */
import type { RequestContext } from '../runtime/index.ts'
import type { Services } from '../context.ts'
import type { Api } from '../app.ts'
import { recordConnection, type Connection, type ListenerKind } from '../guard/connection.ts'
import { callerOf, pageRefusal } from '../guard/guard.ts'
import { ApiError } from '../errors.ts'
import { presentsCredential, type Caller } from '../guard/identify.ts'
import { assetResponse, type Dashboard } from '../dashboard/assets.ts'
import { htmlResponse, messagePage, signInPage, signInRefused, WRONG_TOKEN, type PageStyle } from '../dashboard/pages.ts'
import { normalizeUrl, validHost } from './host-header.ts'
import { contentSecurityPolicy, stripCors, withSecurityHeaders } from './security-headers.ts'
import { corsHeaders } from '../guard/cors.ts'
import { isTrustedProxy } from '../guard/addresses.ts'
import { exchangeAccessToken, isNavigation, safeLocation, signInWithForm } from '../guard/token-exchange.ts'
import { API_BODY_LIMIT } from './listeners.ts'
import { health } from '../version.ts'

/** Handles requests for app listeners and path-mode apps (the apps issue provides it). */
export interface AppHandler {
  /** Resolves undefined once Bun has taken the socket for a WebSocket (Deno gives a 101 Response). */
  handle(request: Request, conn: Connection, ctx: RequestContext): Promise<Response | undefined>
  /** Whether `path` belongs to a path-mode app. */
  ownsPath(path: string): boolean
}

export interface DispatchDeps {
  services: Services
  /**
   * The API once built, else null. Start-up listens first and the first request that is not
   * a health check builds the Elysia API (its modules are a good part of a cold start and of
   * an idle latchkey's memory), so a health check is answered at once.
   */
  api(): Api | null
  /** Build the API now (once), for a request that needs it before the warm-up did. */
  buildApi(): Promise<Api>
  dashboard: Dashboard | null
  apps?: AppHandler
}

/** Paths the API answers: /api, the login links, and GET /metrics (src/api/metrics.ts). */
const isApiPath = (path: string) => path === '/api' || path.startsWith('/api/') || path === '/remote-login' || path === '/metrics'

/** The path of a request URL without parsing the whole URL (this runs on every request). */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const q = url.indexOf('?', start)
  const hash = url.indexOf('#', start)
  const end = q === -1 ? (hash === -1 ? url.length : hash) : q
  return url.slice(start, end)
}

/**
 * /api bodies are small JSON on every listener, though the dashboard and ingress listeners
 * accept large app uploads: a declared size over the limit is a 413, and a chunked body is
 * cut off at the limit (its JSON then fails to parse: a 400).
 */
function limitApiBody(request: Request): Request | ApiError {
  const length = request.headers.get('content-length')
  if (length !== null) return Number(length) > API_BODY_LIMIT ? new ApiError(413, 'body_too_large', `The request body is too large (at most ${API_BODY_LIMIT} bytes)`) : request
  if (!request.body) return request
  let seen = 0
  const capped = request.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, out) {
      seen += chunk.byteLength
      if (seen > API_BODY_LIMIT) out.error(new Error('body too large'))
      else out.enqueue(chunk)
    },
  }))
  return new Request(request, { body: capped, duplex: 'half' } as RequestInit)
}

/** GET /api/health as the API answers it (src/api/health.ts), for the moments before the API is built. */
function healthResponse(version: string, method: string): Response {
  const headers = { 'content-type': 'application/json;charset=utf-8', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' }
  return new Response(method === 'HEAD' ? null : JSON.stringify(health(version)), { headers })
}

export function createDispatcher(deps: DispatchDeps) {
  const { services, dashboard } = deps
  const csp = contentSecurityPolicy(services.config.apiBase)
  const style: PageStyle = dashboard?.cssHref ? { href: dashboard.cssHref } : null
  /** Tell the guard's metrics hook how a request the dispatcher itself judged came out. */
  const decided = <T extends ApiError | null>(caller: Caller, refused: T): T => {
    services.guard.decided(caller.via, refused ? refused.status : 'admitted')
    return refused
  }

  /**
   * An /api request (not on an app listener). Not async, and awaiting only what is pending:
   * every async layer costs a few microseconds on the most frequent requests.
   */
  function toApi(request: Request, conn: Connection, path: string): Response | Promise<Response> {
    // Every presented credential counts against the guess limits (issue 5), public routes
    // included: /api/whoami would otherwise confirm guesses without limit.
    if (presentsCredential(request)) {
      const known = callerOf(request, services.guard)
      if (known instanceof Promise) return known.then((caller) => accounted(request, caller, conn, path))
      return accounted(request, known, conn, path)
    }
    return toBuiltApi(request, path)
  }

  function accounted(request: Request, caller: Caller, conn: Connection, path: string): Response | Promise<Response> {
    const limited = services.guard.limiter.account(request, caller, conn)
    return limited ? decided(caller, limited).toResponse() : toBuiltApi(request, path)
  }

  function toBuiltApi(request: Request, path: string): Response | Promise<Response> {
    const api = deps.api()
    if (api) return api.handle(request)
    // Liveness does not wait for the API to be built.
    if (path === '/api/health' && (request.method === 'GET' || request.method === 'HEAD')) return healthResponse(services.version, request.method)
    return deps.buildApi().then((built) => built.handle(request))
  }

  async function route(request: Request, conn: Connection, ctx: RequestContext, path: string): Promise<[Response | undefined, boolean]> {
    if (conn.listener === 'app') return [await deps.apps!.handle(request, conn, ctx), false]
    // Before the API-port answer: headless mode has only the API port, and no dashboard port to point at.
    if (services.mode === 'headless') {
      return [new ApiError(404, 'headless', 'Headless mode (latchkey serve) serves no dashboard: use the /api endpoints').toResponse(), false]
    }
    if (conn.listener === 'api') return [new ApiError(404, 'not_found', 'This port serves /api only; the dashboard is on the dashboard port').toResponse(), false]
    // A page or asset request means a browser: its API calls follow, so build the API now.
    if (deps.api() === null) void deps.buildApi()
    const asset = dashboard?.assets.get(path)
    if (asset && path !== '/index.html') return [assetResponse(asset, request), false]

    // Pages and path-mode apps need a signed-in caller; a ?token= visit signs in first.
    const caller = await callerOf(request, services.guard)
    const url = new URL(request.url)
    // Guessing ?token= on pages is limited like the API (issue 5): 429 before any exchange.
    const limited = services.guard.limiter.account(request, caller, conn)
    if (limited) {
      decided(caller, limited)
      if (!isNavigation(request)) return [limited.toResponse(), false]
      return [messagePage('Too many attempts', limited.message, 429, style, limited.headers), true]
    }
    if ((request.method === 'GET' || request.method === 'HEAD') && url.searchParams.has('token') && isNavigation(request)) {
      if (caller.via === 'access-token') return [exchangeAccessToken(request, conn, caller, services), true]
    }
    const posted = signInWithForm(request, conn, caller, services)
    const form = posted && (await posted)
    if (form?.ok) return [form.response, true]
    if (form) return [signInRefused({ action: safeLocation(url, ['token']), limited: form.limited, reason: caller.reason, style }), true]
    if (deps.apps?.ownsPath(path)) return [await deps.apps.handle(request, conn, ctx), false]
    if (path !== '/' && path !== '/index.html') {
      return [messagePage('Not found', 'There is no page at this address.', 404, style), true]
    }
    const refused = decided(caller, pageRefusal(caller))
    if (refused) {
      if (!isNavigation(request)) return [refused.toResponse(), false]
      // A share link's session is told where it does reach, not asked to sign in.
      if (caller.scope) {
        const prefix = services.apps?.registry.get(caller.scope.app)?.spec.path
        const next = prefix ? { text: `This device may open ${caller.scope.app} here.`, link: { href: `${prefix}/`, label: `Open ${caller.scope.app}` } } : undefined
        return [messagePage('Not allowed', refused.message, refused.status, style, {}, next), true]
      }
      const message = url.searchParams.has('token') ? WRONG_TOKEN : undefined
      return [signInPage({ action: safeLocation(url, ['token']), message, reason: caller.reason, style }), true]
    }
    return [htmlResponse(dashboard!.indexHtml(services.config.apiBase)), true]
  }

  /** The fetch handler for one listener. */
  return function handlerFor(kind: ListenerKind, localPort: () => number, app?: string) {
    const count = services.metrics.requests(kind)
    return async (incoming: Request, ctx: RequestContext): Promise<Response> => {
      if (!validHost(incoming.headers.get('host'))) {
        count(400)
        return withSecurityHeaders(new ApiError(400, 'bad_host', 'The request needs exactly one valid Host header').toResponse(), { page: false, csp })
      }
      let request = normalizeUrl(incoming)
      const path = pathOf(request.url)
      if (kind !== 'app' && kind !== 'api' && isApiPath(path) && request.method !== 'GET' && request.method !== 'HEAD') {
        const limited = limitApiBody(request)
        if (limited instanceof ApiError) {
          count(413)
          return limited.toResponse()
        }
        request = limited
      }
      const conn: Connection = { listener: kind, peer: ctx.peer, localPort: localPort(), app }
      // Read per request: a config reload may change the list.
      const trusted = services.guard.options.trustedProxies
      if (trusted.length > 0 && ctx.peer) conn.viaTrustedProxy = isTrustedProxy(ctx.peer.address, trusted)
      recordConnection(request, conn)
      let res: Response | undefined
      let page = false
      const fromApi = kind !== 'app' && isApiPath(path)
      try {
        if (fromApi) res = await toApi(request, conn, path)
        else [res, page] = await route(request, conn, ctx, path)
      } catch (err) {
        if (err instanceof ApiError) res = err.toResponse()
        else {
          services.log.error('request failed', { path, error: String((err as Error)?.stack ?? err) })
          res = new ApiError(500, 'internal_error', 'Something went wrong inside latchkey; the log has the details').toResponse()
        }
      }
      count(res?.status ?? 101)
      // An upgraded WebSocket: nothing more to send (Bun) or the 101 as the runtime made it (Deno).
      if (res === undefined) return res as unknown as Response
      if (res.status === 101 || (kind === 'app' && res.headers.has('upgrade'))) return res
      const origin = request.headers.get('origin')
      // The API sets its own baseline and CORS headers (src/app.ts, src/guard/cors.ts); what the
      // dispatcher answered for it itself (a 429, a 413) gets them here, so an allowed page can read it.
      if (fromApi && !page) {
        if (origin !== null && !res.headers.has('vary')) {
          const out = withSecurityHeaders(res, { page: false, csp })
          for (const [k, v] of Object.entries(corsHeaders(origin, services.guard.origins.allows(origin)))) out.headers.set(k, v)
          return out
        }
        return res
      }
      const out = withSecurityHeaders(res, { page, csp })
      if (origin !== null && !services.guard.origins.allows(origin)) stripCors(out)
      return out
    }
  }
}
