/** /api/remote/*: remote access status (the tunnels issue adds tunnel control here). */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'

export function remoteRoutes(services: Services) {
  return new Elysia({ name: 'api.remote', prefix: '/api/remote' })
    .use(guardPlugin(services))
    .get('/status', () => services.remoteStatus(), { role: 'viewer' })
}
