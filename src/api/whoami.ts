/** GET /api/whoami: who latchkey thinks the caller is (the way to find your ID for `admins`). */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { callerOf, guardPlugin } from '../guard/plugin.ts'
import { describeCaller } from '../guard/describe-caller.ts'

export function whoamiRoutes(services: Services) {
  return new Elysia({ name: 'api.whoami', prefix: '/api' })
    .use(guardPlugin(services))
    .get('/whoami', async ({ request }) => describeCaller(await callerOf(request, services)), { role: 'public' })
}
