/**
 * The CORS of cors.ts as an Elysia plugin for the API (kept apart from cors.ts, so that
 * what the dispatcher needs loads without Elysia).
 */
import { Elysia } from 'elysia'
import type { OriginPolicy } from './origins.ts'
import { corsHeaders, HEADERS, MAX_AGE, METHODS } from './cors.ts'

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
