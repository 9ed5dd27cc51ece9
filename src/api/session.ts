/** POST /api/session/logout: sign this browser out (its session ends at once, the cookie is cleared). */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { clearCookie } from '../guard/cookies.ts'
import { SESSION_COOKIE } from '../tokens/sessions.ts'

export function sessionRoutes(services: Services) {
  return new Elysia({ name: 'api.session', prefix: '/api/session' })
    .use(guardPlugin(services.guard))
    .post('/logout', ({ caller, request, set }) => {
      const ended = caller.session ? services.sessions.revoke(caller.session.id) : false
      set.headers['set-cookie'] = clearCookie(SESSION_COOKIE, new URL(request.url).protocol === 'https:')
      return { signedOut: ended }
    }, { role: 'viewer' })
}
