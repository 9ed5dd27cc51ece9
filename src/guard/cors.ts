/**
 * CORS for the API (token-guard reference, "Allowed origins configuration"): only an
 * allowed Origin gets CORS headers, with credentials; a refused or absent Origin gets none,
 * preflight included, so the browser blocks the call.
 *
 * Note: written here rather than with @elysiajs/cors, which adds allow-credentials and
 * allow-methods to every response (refused origins too) and reflects any Origin when
 * given none; that left each response to be scrubbed afterwards.
 */

export const METHODS = 'GET, POST, PUT, PATCH, DELETE'
export const HEADERS = 'Content-Type, Authorization'
export const MAX_AGE = '600'

/** The CORS headers of an answer to `origin` (none but Vary when it is not allowed). */
export function corsHeaders(origin: string, allowed: boolean): Record<string, string> {
  if (!allowed) return { vary: 'Origin' }
  return {
    vary: 'Origin',
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'Retry-After',
  }
}
