/** GET /api/health: liveness, public (no secrets, no state). */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { health } from '../version.ts'

export function healthRoutes(services: Services) {
  return new Elysia({ name: 'api.health', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .get('/health', () => health(services.version), { role: 'public' })
}
