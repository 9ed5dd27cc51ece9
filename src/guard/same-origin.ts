/**
 * The same-origin rule for state-changing requests (DESIGN.md, "Sessions, not tokens"):
 * loopback included, because the attacker is a web page in the operator's own browser.
 * A request with `Origin` or `Sec-Fetch-Site` must come from this origin (exact, port
 * included) or an allowed one; one with neither is a non-browser client and passes. Either
 * way a body-carrying state change must be JSON, which no cross-site form can send.
 */
import { ApiError } from '../errors.ts'
import type { OriginPolicy } from './origins.ts'
import { connectionOf, isSecure } from './connection.ts'

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The origin the browser used for this request: its Host header (what the browser put
 * there, port included) and the scheme (https only where a tunnel says so).
 */
export function requestOrigin(request: Request): string | null {
  const host = request.headers.get('host')
  if (!host || host.includes(',')) return null
  const conn = connectionOf(request)
  const secure = conn ? isSecure(request, conn) : request.url.startsWith('https:')
  return `${secure ? 'https' : 'http'}://${host.toLowerCase()}`
}

/** Whether `origin` is this request's own origin or one the policy allows (scheme + host + port). */
export function originAccepted(request: Request, origin: string, origins: OriginPolicy): boolean {
  return origin.toLowerCase() === requestOrigin(request) || origins.allows(origin)
}

/** Returns an error to send, or null when the request may proceed. */
export function checkStateChange(request: Request, origins: OriginPolicy): ApiError | null {
  if (SAFE.has(request.method)) return null
  const origin = request.headers.get('origin')
  const site = request.headers.get('sec-fetch-site')
  if (origin !== null || site !== null) {
    const sameOrigin = origin !== null ? originAccepted(request, origin, origins) : site === 'same-origin' || site === 'none'
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

/**
 * A GET that mints or reveals a secret (a login link, a QR code) must not answer another
 * site, loopback included: an image or a navigation from a foreign page mints a link, and a
 * foreign fetch could read one where CORS lets it. Refused: `Sec-Fetch-Site` cross-site or
 * same-site with no accepted `Origin`, or an `Origin` that is neither ours nor allowed (the
 * dashboard calling the API on its other port sends its allowed Origin).
 */
export function checkRevealingGet(request: Request, origins: OriginPolicy): ApiError | null {
  const origin = request.headers.get('origin')
  const site = request.headers.get('sec-fetch-site')
  const foreign = origin !== null ? !originAccepted(request, origin, origins) : site === 'cross-site' || site === 'same-site'
  if (!foreign) return null
  return new ApiError(403, 'cross_origin_refused', 'Refused to mint or show a login link for another site: open the dashboard at this address and try again')
}
