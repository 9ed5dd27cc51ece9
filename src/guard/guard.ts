/**
 * The guard of one latchkey: the narrow set of things every decision needs (the identity
 * options, the guess limiter, the origin policy, a log, a refusal callback and a decision
 * counter for the metrics), and the calls the listeners and routes make: callerOf(),
 * refusal() and admit(), and for the two places that are not API routes, pageRefusal() (the
 * dashboard) and appRefusal() (an app). Each of these asks scope.ts first, so a share link's
 * session is refused everywhere outside its app.
 */
import type { Logger } from '../log.ts'
import { ApiError } from '../errors.ts'
import { connectionOf } from './connection.ts'
import { requestState } from './request-state.ts'
import { identify, type Caller, type GuardOptions, type Via } from './identify.ts'
import { atLeast, type Need } from './roles.ts'
import { checkStateChange, checkRevealingGet } from './same-origin.ts'
import { scopeRefusal } from './scope.ts'
import type { GuessLimiter } from './guess-limiter.ts'
import type { OriginPolicy } from './origins.ts'

export interface Guard {
  options: GuardOptions
  limiter: GuessLimiter
  origins: OriginPolicy
  log: Pick<Logger, 'debug' | 'info' | 'warn'>
  /** Told of each of the guard's own 403s (webhooks send admin.denied); never of cross-site refusals. */
  onDenied(request: Request, caller: Caller, message: string): void
  /** Told of each decision on a guarded request: admitted, or the refusal's status (metrics count them). */
  decided(via: Via, outcome: 'admitted' | number): void
}

/** The options an operator sets in latchkey.yaml, as the running configuration holds them. */
export type OperatorIdentityOptions = Pick<GuardOptions, 'insecureNoAuth' | 'admins' | 'adminAllowLocalhost' | 'trustedProxies' | 'trustServeHeaders' | 'apiKey'>

/**
 * The guard's identity options as live views of `config`: each read goes to the object a
 * config reload updates (src/server/reload.ts), so the next request sees new admins, API
 * key or trusted proxies. Nothing is copied at start.
 */
export function liveGuardOptions(config: OperatorIdentityOptions, rest: Pick<GuardOptions, 'accessToken' | 'sessions' | 'whois'>): GuardOptions {
  return {
    get insecureNoAuth() { return config.insecureNoAuth },
    get admins() { return config.admins },
    get adminAllowLocalhost() { return config.adminAllowLocalhost },
    get trustedProxies() { return config.trustedProxies },
    get trustServeHeaders() { return config.trustServeHeaders },
    get apiKey() { return config.apiKey },
    accessToken: rest.accessToken,
    sessions: rest.sessions,
    whois: rest.whois,
  }
}

/**
 * identify() once per request (the dispatcher may already have asked). A value when the
 * answer is at hand, a promise only while a Tailscale lookup is waited for.
 */
export function callerOf(request: Request, guard: Guard): Caller | Promise<Caller> {
  const state = requestState(request)
  if (state.caller) return state.caller
  if (!state.conn) throw new Error('request did not come through a latchkey listener')
  const caller = identify(request, state.conn, guard.options)
  if (caller instanceof Promise) return caller.then((c) => (state.caller = c))
  return (state.caller = caller)
}

/** 401 for no identity, 403 for too low a role; null when `need` is met. */
export function refusal(caller: Caller, need: Need): ApiError | null {
  if (need === 'public') return null
  // A caller latchkey recognised and refused (the local user under an allowlist, a forged
  // internal header) is told why with a 403, not asked to authenticate again.
  if (caller.role === 'none' && caller.denied && caller.reason) return new ApiError(403, 'forbidden', caller.reason)
  if (caller.role === 'none') {
    const how = caller.reason ?? 'send Authorization: Bearer <token>, or open the connect link from the dashboard'
    return new ApiError(401, 'unauthorized', `Authentication required: ${how}`, undefined, { 'www-authenticate': 'Bearer realm="latchkey"' })
  }
  if (!atLeast(caller.role, need)) {
    return new ApiError(403, 'forbidden', caller.reason ?? 'This action needs the admin role: sign in with an admin link, the access token or an API key')
  }
  return null
}

/** The dashboard page: a viewer at least, and never a share link's session (scope.ts). */
export function pageRefusal(caller: Caller): ApiError | null {
  return scopeRefusal(caller, { kind: 'dashboard' }) ?? refusal(caller, 'viewer')
}

/**
 * An app: a share link's session reaches its own app only (and reads only, when view only),
 * whatever role the app asks, since an admin chose to share that app; anyone else needs the
 * app's role.
 */
export function appRefusal(caller: Caller, app: { name: string; role: Need }, method: string, websocket: boolean): ApiError | null {
  if (caller.scope) return scopeRefusal(caller, { kind: 'app', app: app.name, method, websocket })
  return refusal(caller, app.role)
}

/** Log fields for a refusal: who (as identified), what was asked, why; no credentials. */
export function refusedFields(request: Request, caller: Caller, refused: ApiError): Record<string, unknown> {
  return {
    status: refused.status,
    method: request.method,
    path: new URL(request.url).pathname,
    via: caller.via,
    role: caller.role,
    address: caller.address,
    tailscaleId: caller.tailscale?.id || undefined,
    login: caller.tailscale?.loginName || undefined,
    reason: refused.message,
  }
}

/**
 * Admit the request for a route, or throw the refusal. Runs once per request, however many
 * hooks ask.
 */
export function admit(request: Request, need: Need, guard: Guard): void | Promise<void> {
  if (requestState(request).admitted) return
  const caller = callerOf(request, guard)
  if (caller instanceof Promise) return caller.then((c) => decide(request, need, guard, c))
  decide(request, need, guard, caller)
}

function decide(request: Request, need: Need, guard: Guard, caller: Caller): void {
  // Wrong guesses over budget are refused first (429); a valid credential never is.
  const limited = guard.limiter.account(request, caller, connectionOf(request)!)
  // A share link's session is told it reaches one app only, before any talk of roles.
  const scoped = caller.scope ? scopeRefusal(caller, { kind: 'api', path: new URL(request.url).pathname }) : null
  const refused = limited ?? scoped ?? refusal(caller, need) ?? checkStateChange(request, guard.origins)
  guard.decided(caller.via, refused ? refused.status : 'admitted')
  if (refused) refuse(request, caller, refused, guard)
  requestState(request).admitted = caller
}

/**
 * For a GET that mints or reveals a secret (a login link, a QR code): refused when another
 * site asks, loopback included (same-origin.ts). Runs after admit().
 */
export function admitReveal(request: Request, guard: Guard): void {
  const refused = checkRevealingGet(request, guard.origins)
  if (refused) refuse(request, requestState(request).admitted!, refused, guard)
}

function refuse(request: Request, caller: Caller, refused: ApiError, guard: Guard): never {
  // Admin-allowlist reference: a refused action is logged at warn with the caller's
  // identity, so an operator can find the ID to add. Never a secret: no query, no token.
  if (refused.status === 403) guard.log.warn('refused', refusedFields(request, caller, refused))
  else guard.log.debug('refused', refusedFields(request, caller, refused))
  if (refused.status === 403 && refused.code === 'forbidden') guard.onDenied(request, caller, refused.message)
  throw refused
}
