/**
 * /api/apps: the apps latchkey fronts. Viewers list the apps they may open, with health;
 * admins add, edit and remove dashboard apps (settings.json, applied without a restart),
 * pause, resume and restart them, read their access logs and see what listens locally.
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { ApiError } from '../errors.ts'
import type { AppsService } from '../apps/apps-service.ts'

const model = {
  params: t.Object({ name: t.String({ maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]{0,62}$', error: 'must be an app name (lowercase letters, digits and dashes)' }) }),
  logQuery: t.Object({ limit: t.Optional(t.Numeric({ minimum: 1, maximum: 1000, error: 'must be a number 1-1000' })) }),
  // Fields are checked by parseAppEntry, which names each one; here only "an object".
  app: t.Object({}, { additionalProperties: true, error: 'must be a JSON object with name and target' }),
  empty: t.Optional(t.Object({}, { additionalProperties: true })),
}

export function appsRoutes(services: Services) {
  const apps = (): AppsService => {
    if (!services.apps) throw new ApiError(503, 'apps_unavailable', 'Apps are not available in this latchkey')
    return services.apps
  }
  return new Elysia({ name: 'api.apps', prefix: '/api/apps' })
    .use(guardPlugin(services.guard))
    .get('/', ({ caller }) => ({ apps: apps().list(caller) }), { role: 'viewer' })
    .get('/detected', () => apps().detected(), { role: 'admin' })
    .post('/', async ({ body, set }) => {
      const app = await apps().add(body)
      set.status = 201
      return app
    }, { role: 'admin', body: model.app })
    .put('/:name', ({ params, body }) => apps().update(params.name, body), { role: 'admin', params: model.params, body: model.app })
    .delete('/:name', ({ params }) => apps().remove(params.name), { role: 'admin', params: model.params })
    .post('/:name/pause', ({ params }) => apps().setPaused(params.name, true), { role: 'admin', params: model.params, body: model.empty })
    .post('/:name/resume', ({ params }) => apps().setPaused(params.name, false), { role: 'admin', params: model.params, body: model.empty })
    .post('/:name/restart', ({ params }) => apps().restart(params.name), { role: 'admin', params: model.params, body: model.empty })
    .get('/:name/access-log', ({ params, query }) => apps().readAccessLog(params.name, query.limit ?? 200), { role: 'admin', params: model.params, query: model.logQuery })
}
