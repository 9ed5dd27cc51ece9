/**
 * The guard as an Elysia plugin: every route says `{ role: 'public' | 'viewer' | 'admin' }`
 * through one macro; `resolve` calls identify() once and returns 401/403 or `{ caller }`.
 * State-changing requests also pass the same-origin rule.
 */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { connectionOf } from './connection.ts'
import { requestState } from './request-state.ts'
import { identify, type Caller } from './identify.ts'
import { atLeast, type Need } from './roles.ts'
import { checkStateChange } from './same-origin.ts'
import { ApiError } from '../errors.ts'
import { emitDenied } from '../webhooks/event-sources.ts'

/**
 * identify() once per request (the dispatcher may already have asked). A value when the
 * answer is at hand, a promise only while a Tailscale lookup is waited for.
 */
export function callerOf(request: Request, services: Services): Caller | Promise<Caller> {
  const state = requestState(request)
  if (state.caller) return state.caller
  if (!state.conn) throw new Error('request did not come through a latchkey listener')
  const caller = identify(request, state.conn, services.guard)
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

const plugins = new WeakMap<Services, ReturnType<typeof buildGuard>>()
let instances = 0

/**
 * Admit the request for a route that needs `need`, or throw the refusal. Runs once per
 * request, however many hooks ask.
 */
function admit(request: Request, need: Need, services: Services): void | Promise<void> {
  if (requestState(request).admitted) return
  const caller = callerOf(request, services)
  if (caller instanceof Promise) return caller.then((c) => decide(request, need, services, c))
  decide(request, need, services, caller)
}

function decide(request: Request, need: Need, services: Services, caller: Caller): void {
  // Guessing is limited before anything else (issue 5): an over-budget client gets 429.
  const limited = services.rateLimit.account(request, caller, connectionOf(request)!)
  const refused = limited ?? refusal(caller, need) ?? checkStateChange(request, services.origins)
  if (refused) {
    // Admin-allowlist reference: a refused action is logged at warn with the caller's
    // identity, so an operator can find the ID to add. Never a secret: no query, no token.
    if (refused.status === 403) services.log.warn('refused', refusedFields(request, caller, refused))
    // Webhooks hear of the guard's own refusals (admin.denied), not of cross-site requests.
    if (refused.status === 403 && refused.code === 'forbidden') emitDenied(services.webhooks, request, caller, refused.message)
    else services.log.debug('refused', refusedFields(request, caller, refused))
    throw refused
  }
  requestState(request).admitted = caller
}

function buildGuard(services: Services) {
  // The seed only tells Elysia instances of different latchkeys apart (tests run several).
  return new Elysia({ name: 'latchkey.guard', seed: ++instances }).macro({
    role: (need: Need) =>
      need === 'public'
        ? // Public routes run no guard hooks; the few that describe the caller ask callerOf().
          {}
        : {
            // Note: the check runs in `parse` and `transform`, which come before body parsing
            // and validation, so an anonymous caller learns nothing from a 400 about its body.
            // The hooks are `async` on purpose: Elysia awaits only hooks it takes for async, and
            // a refusal thrown from an un-awaited promise would let the request through.
            parse: async ({ request }: { request: Request }) => {
              await admit(request, need, services)
            },
            transform: async ({ request }: { request: Request }) => {
              await admit(request, need, services)
            },
            resolve: ({ request }: { request: Request }) => ({ caller: requestState(request).admitted! }),
          },
  })
}

/** The guard plugin of one latchkey (one instance per Services, shared by every route group). */
export function guardPlugin(services: Services) {
  let plugin = plugins.get(services)
  if (!plugin) plugins.set(services, (plugin = buildGuard(services)))
  return plugin
}
