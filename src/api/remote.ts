/**
 * /api/remote/*: tunnel status and control (runbook §2.2, §2.3, §5) and the cloudflared
 * detect/install actions (§1.4). Status is for viewers; everything that changes state is admin.
 * The status also carries `reload`, the outcome of the last config reload (src/server/reload.ts).
 * Handlers are a line each: the logic is in src/tunnels/.
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import type { ReloadStatus } from '../server/reload-status.ts'

export const model = {
  activate: t.Object(
    { provider: t.Union([t.Literal('tailscale'), t.Literal('cloudflare')], { error: 'must be tailscale or cloudflare' }) },
    { additionalProperties: false },
  ),
}

const noStore = (body: unknown, status = 200) => Response.json(body, { status, headers: { 'cache-control': 'no-store' } })

/** GET /api/remote/status: the tunnel's status plus `reload`, the last config reload's outcome (null before any). */
export function remoteStatus(services: Pick<Services, 'tunnels' | 'reload'>) {
  const s = services.tunnels.statusNow()
  // Note: statusNow() builds a fresh object per call, so the field is added, not copied in (the polled route).
  const withReload = <T extends object>(status: T) => {
    ;(status as T & { reload: unknown }).reload = services.reload?.last ?? null
    return status as T & { reload: ReloadStatus | null }
  }
  return s instanceof Promise ? s.then(withReload) : withReload(s)
}

export function remoteRoutes(services: Services) {
  const tunnels = services.tunnels
  return new Elysia({ name: 'api.remote', prefix: '/api/remote' })
    .use(guardPlugin(services.guard))
    // Returns the object, not a Response: Elysia builds that faster (this is the polled route).
    .get('/status', () => remoteStatus(services), { role: 'viewer' })
    // Selects the provider only; never starts anything (runbook §2.2).
    .post('/provider/activate', async ({ body }) => {
      tunnels.activate(body.provider)
      return noStore(await remoteStatus(services))
    }, { role: 'admin', body: model.activate })
    // 202: the child is spawned and `starting`; poll GET /status for `running` and the URL.
    .post('/tunnel/start', async () => {
      await tunnels.start()
      return noStore(await remoteStatus(services), 202)
    }, { role: 'admin' })
    .post('/tunnel/stop', async () => {
      await tunnels.stop()
      return noStore(await remoteStatus(services))
    }, { role: 'admin' })
    .post('/tunnel/kill-external', async () => noStore({ ...(await tunnels.killExternal()), status: await remoteStatus(services) }), { role: 'admin' })
    // Runs cloudflared: a side effect another site must not trigger.
    .get('/providers/cloudflare/detect', async () => noStore(await tunnels.detectCloudflared()), { role: 'admin', reveals: true })
    .post('/providers/cloudflare/install', async () => noStore(await tunnels.installCloudflared()), { role: 'admin' })
}
