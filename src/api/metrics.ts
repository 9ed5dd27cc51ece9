/**
 * GET /metrics: the Prometheus text format, for admins (the local user, an API key, the
 * access token, an admin session or tailnet admin). Viewers get 403 and anonymous callers
 * 401, as on every admin route; it is served wherever /api is (dashboard, API and tunnel
 * ingress listeners), never on an app's port, whose every path is the app's.
 */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { CONTENT_TYPE, type ScrapeSources } from '../metrics/latchkey-metrics.ts'
import { TUNNEL_STATES } from '../tunnels/states.ts'

/** What one scrape reads from the running latchkey: nothing here costs anything between scrapes. */
export function scrapeSources(services: Services): ScrapeSources {
  return {
    sessions: () => services.sessions.list(),
    tunnel: () => {
      const s = services.tunnels.manager.snapshot()
      return { provider: s.provider, state: s.state, states: TUNNEL_STATES, restarts: services.tunnels.manager.restarts }
    },
    apps: () => (services.apps?.registry.list() ?? []).map((a) => ({ name: a.spec.name, health: services.apps!.health.get(a.spec.name).state })),
    webhooks: () => (services.webhooks?.list() ?? []).map((h) => ({ id: h.id, delivered: h.delivered, failed: h.failed, dropped: h.dropped })),
  }
}

export function metricsRoutes(services: Services) {
  return new Elysia({ name: 'api.metrics' })
    .use(guardPlugin(services.guard))
    .get('/metrics', () => new Response(services.metrics.scrape(scrapeSources(services)), { headers: { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' } }), { role: 'admin' })
}
