/**
 * The same-origin rule for state-changing requests (DESIGN.md, "Sessions, not tokens"):
 * loopback included, because the attacker is a web page in the operator's own browser.
 * A request with `Origin` or `Sec-Fetch-Site` must come from this origin (exact, port
 * included) or an allowed one; one with neither is a non-browser client and passes. Either
 * way a body-carrying state change must be JSON, which no cross-site form can send.
 */
import { ApiError } from '../errors.ts'
import type { OriginPolicy } from './origins.ts'

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The origin this request was addressed to, from its Host header and the listener's scheme. */
export function requestOrigin(request: Request): string | null {
  const host = request.headers.get('host')
  if (!host || host.includes(',')) return null
  const proto = request.headers.get('x-forwarded-proto') === 'https' ? 'https' : new URL(request.url).protocol.replace(':', '')
  return `${proto}://${host.toLowerCase()}`
}

/** Returns an error to send, or null when the request may proceed. */
export function checkStateChange(request: Request, origins: OriginPolicy): ApiError | null {
  if (SAFE.has(request.method)) return null
  const origin = request.headers.get('origin')
  const site = request.headers.get('sec-fetch-site')
  if (origin !== null || site !== null) {
    const self = requestOrigin(request)
    const sameOrigin = origin !== null ? origin.toLowerCase() === self || origins.allows(origin) : site === 'same-origin' || site === 'none'
    if (!sameOrigin) {
      return new ApiError(403, 'cross_origin_refused', 'Refused a state-changing request from another site: open the dashboard at this address and try again')
    }
  }
  const hasBody = request.headers.has('content-length') ? request.headers.get('content-length') !== '0' : request.headers.has('transfer-encoding')
  if ((request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH' || hasBody) && !isJson(request.headers.get('content-type'))) {
    return new ApiError(415, 'json_required', 'State-changing requests must send a JSON body (Content-Type: application/json)')
  }
  return null
}

function isJson(type: string | null): boolean {
  return !!type && /^application\/json\s*(;|$)/i.test(type)
}
