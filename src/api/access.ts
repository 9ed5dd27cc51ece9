/**
 * GET /api/access: how latchkey is reachable (bind host, ports, token on, allowed origins).
 * GET /api/connect and /api/connect/qr.svg|png: the "Connect a device" link and QR, with
 * the token in it for the local user only.
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { describeAccess, connectInfo } from '../connect/connect-info.ts'
import { qrPng, qrSvg } from '../connect/qr.ts'
import { ApiError } from '../errors.ts'

const model = {
  /** Which candidate address to use (GET /api/connect lists them); the best one when absent. */
  connect: t.Object({ address: t.Optional(t.String({ maxLength: 255, error: 'must be one of the candidates GET /api/connect lists' })) }),
}

export function accessRoutes(services: Services) {
  const linkFor = (local: boolean, address?: string) => {
    const info = connectInfo(services, local, address)
    if (!info.url) throw new ApiError(409, 'no_connect_address', info.message)
    return info.url
  }
  return new Elysia({ name: 'api.access', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .get('/access', () => describeAccess(services), { role: 'viewer' })
    // These reveal the access token: never to another site (`reveals`), loopback included.
    .get('/connect', ({ caller, query }) => connectInfo(services, caller.local, query.address), { role: 'admin', reveals: true, query: model.connect })
    .get('/connect/qr.svg', async ({ caller, query }) => new Response(await qrSvg(linkFor(caller.local, query.address)), {
      headers: { 'content-type': 'image/svg+xml', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    }), { role: 'admin', reveals: true, query: model.connect })
    .get('/connect/qr.png', async ({ caller, query }) => new Response(await qrPng(linkFor(caller.local, query.address)), {
      headers: { 'content-type': 'image/png', 'cache-control': 'no-store' },
    }), { role: 'admin', reveals: true, query: model.connect })
}
