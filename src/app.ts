/** Composes the API: CORS, one error handler, then one plugin per route group. */
import { Elysia } from 'elysia'
import { corsPlugin } from './guard/cors-plugin.ts'
import type { Services } from './context.ts'
import { errorPlugin } from './api/errors.ts'
import { jsonDepthPlugin } from './api/json-depth.ts'
import { healthRoutes } from './api/health.ts'
import { accessRoutes } from './api/access.ts'
import { whoamiRoutes } from './api/whoami.ts'
import { remoteRoutes } from './api/remote.ts'
import { eventRoutes } from './api/events.ts'
import { settingsRoutes } from './api/settings.ts'
import { appsRoutes } from './api/apps.ts'
import { sessionRoutes } from './api/session.ts'
import { remoteTokenRoutes } from './api/remote-tokens.ts'
import { remoteLoginRoutes } from './api/remote-login.ts'
import { webhookRoutes } from './api/webhooks.ts'
import { preferencesRoutes } from './api/preferences.ts'
import { networkRoutes } from './api/network.ts'
import { metricsRoutes } from './api/metrics.ts'
import { shareRoutes } from './api/shares.ts'

export function createApi(services: Services) {
  return (
    new Elysia({ name: 'latchkey.api' })
      // Baseline headers of every API answer (pages add their CSP in the dispatcher).
      .headers({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' })
      .use(corsPlugin(() => services.guard.origins))
      .use(errorPlugin(services.log))
      .use(jsonDepthPlugin())
      .use(healthRoutes(services))
      .use(accessRoutes(services))
      .use(whoamiRoutes(services))
      .use(remoteRoutes(services))
      .use(eventRoutes(services))
      .use(settingsRoutes(services))
      .use(appsRoutes(services))
      .use(sessionRoutes(services))
      .use(remoteTokenRoutes(services))
      .use(remoteLoginRoutes(services))
      .use(webhookRoutes(services))
      .use(preferencesRoutes(services))
      .use(networkRoutes(services))
      .use(metricsRoutes(services))
      .use(shareRoutes(services))
  )
}

export type Api = ReturnType<typeof createApi>
