/**
 * /api/webhooks: the configured webhooks with their last delivery, and "Send a test event".
 * Both are admin-only (admin-allowlist reference, "Protected Endpoints"): a viewer never sees
 * a webhook URL. Webhooks are configured in latchkey.yaml, so there is nothing to change here.
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { ConflictError, ApiError } from '../errors.ts'
import { callerWho } from '../webhooks/event-sources.ts'

export const model = {
  test: t.Optional(t.Object({ webhook: t.Optional(t.Integer({ minimum: 0, error: 'must be a webhook id from GET /api/webhooks' })) }, { additionalProperties: false })),
}

const noStore = (body: unknown, status = 200) => Response.json(body, { status, headers: { 'cache-control': 'no-store' } })

export function webhookRoutes(services: Services) {
  const webhooks = () => services.webhooks
  return new Elysia({ name: 'api.webhooks', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .get('/webhooks', () => noStore({ webhooks: webhooks()?.list() ?? [] }), { role: 'admin' })
    .post('/webhooks/test', ({ body, caller }) => {
      const service = webhooks()
      if (!service || service.size === 0) {
        throw new ConflictError('no_webhooks', 'Cannot send a test event: no webhooks are configured (add webhooks: to latchkey.yaml)')
      }
      const only = body?.webhook
      if (only !== undefined && only >= service.size) throw new ApiError(404, 'webhook_not_found', `Cannot send a test event: there is no webhook ${only} (see GET /api/webhooks)`, 'webhook')
      const sent = service.sendTest(callerWho(caller), only)
      return noStore({ queued: true, id: sent.id, webhooks: sent.webhooks }, 202)
    }, { role: 'admin', body: model.test })
}
