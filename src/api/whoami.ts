/** GET /api/whoami: who latchkey thinks the caller is (the way to find your ID for `admins`). */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { callerOf } from '../guard/guard.ts'
import { describeCaller } from '../guard/describe-caller.ts'

export function whoamiRoutes(services: Services) {
  return new Elysia({ name: 'api.whoami', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .get('/whoami', async ({ request }) => describeCaller(await callerOf(request, services.guard)), { role: 'public' })
}
