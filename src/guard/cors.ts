/**
 * CORS for the API (token-guard reference, "Allowed origins configuration"): only an
 * allowed Origin gets CORS headers, with credentials; a refused or absent Origin gets none,
 * preflight included, so the browser blocks the call.
 *
 * Note: written here rather than with @elysiajs/cors, which adds allow-credentials and
 * allow-methods to every response (refused origins too) and reflects any Origin when
 * given none; that left each response to be scrubbed afterwards.
 */
import { Elysia } from 'elysia'
import type { OriginPolicy } from './origins.ts'

const METHODS = 'GET, POST, PUT, PATCH, DELETE'
const HEADERS = 'Content-Type, Authorization'
const MAX_AGE = '600'

export function corsPlugin(origins: () => OriginPolicy) {
  return new Elysia({ name: 'latchkey.cors' }).onRequest(({ request, set }) => {
    const origin = request.headers.get('origin')
    if (origin === null) return
    const allowed = origins().allows(origin)
    if (request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) {
      if (!allowed) return new Response(null, { status: 204, headers: { vary: 'Origin' } })
      return new Response(null, {
        status: 204,
        headers: {
          'access-control-allow-origin': origin,
          'access-control-allow-credentials': 'true',
          'access-control-allow-methods': METHODS,
          'access-control-allow-headers': HEADERS,
          'access-control-max-age': MAX_AGE,
          vary: 'Origin',
        },
      })
    }
    Object.assign(set.headers, corsHeaders(origin, allowed))
  })
}

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
