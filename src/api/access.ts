/**
 * GET /api/access: how latchkey is reachable (bind host, ports, token on, allowed origins).
 * GET /api/connect and /api/connect/qr.svg|png: the "Connect a device" link and QR, with
 * the token in it for the local user only.
 */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { describeAccess, connectInfo } from '../connect/connect-info.ts'
import { qrPng, qrSvg } from '../connect/qr.ts'
import { ApiError } from '../errors.ts'

export function accessRoutes(services: Services) {
  const linkFor = (local: boolean) => {
    const info = connectInfo(services, local)
    if (!info.url) throw new ApiError(409, 'no_connect_address', info.message)
    return info.url
  }
  return new Elysia({ name: 'api.access', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .get('/access', () => describeAccess(services), { role: 'viewer' })
    // These reveal the access token: never to another site (`reveals`), loopback included.
    .get('/connect', ({ caller }) => connectInfo(services, caller.local), { role: 'admin', reveals: true })
    .get('/connect/qr.svg', async ({ caller }) => new Response(await qrSvg(linkFor(caller.local)), {
      headers: { 'content-type': 'image/svg+xml', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    }), { role: 'admin', reveals: true })
    .get('/connect/qr.png', async ({ caller }) => new Response(await qrPng(linkFor(caller.local)), {
      headers: { 'content-type': 'image/png', 'cache-control': 'no-store' },
    }), { role: 'admin', reveals: true })
}
