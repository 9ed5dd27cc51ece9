/**
 * Share links (issue 20, part 1), admin only: POST /api/apps/:name/shares makes one (the
 * link, shown once), GET /api/apps/:name/shares/qr makes one as a QR payload (JSON, SVG or
 * PNG, like GET /api/remote/qr), GET /api/shares lists the live ones, DELETE /api/shares/:id
 * revokes one and signs out every device it let in. Answers holding a link are never cached,
 * and the GET that mints one never answers another site (`reveals`).
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { qrPng, qrSvg } from '../connect/qr.ts'
import { MAX_SHARE_DEVICES, MAX_SHARE_TTL_MS, MIN_SHARE_TTL_MS } from '../tokens/shares.ts'
import { createShare, listShares, revokeShare, type ShareRequest } from '../shares/share-service.ts'
import { noStore } from './remote-tokens.ts'
import type { Caller } from '../guard/identify.ts'

const TtlMinutes = t.Integer({ minimum: 15, maximum: 10080, error: 'must be a whole number of minutes from 15 to 10080 (7 days)' })
const TtlMs = t.Integer({ minimum: MIN_SHARE_TTL_MS, maximum: MAX_SHARE_TTL_MS, error: `must be a whole number of milliseconds from ${MIN_SHARE_TTL_MS} (15 minutes) to ${MAX_SHARE_TTL_MS} (7 days)` })
const ViewOnly = t.Boolean({ error: 'must be true or false' })
const MaxDevices = t.Integer({ minimum: 1, maximum: MAX_SHARE_DEVICES, error: `must be a whole number from 1 to ${MAX_SHARE_DEVICES}` })
const Address = t.String({ maxLength: 255, error: 'must be one of the candidates GET /api/connect lists' })

export const model = {
  app: t.Object({ name: t.String({ maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]{0,62}$', error: 'must be an app name (lowercase letters, digits and dashes)' }) }),
  create: t.Optional(t.Object({
    ttlMinutes: t.Optional(TtlMinutes),
    ttlMs: t.Optional(TtlMs),
    viewOnly: t.Optional(ViewOnly),
    maxDevices: t.Optional(t.Union([MaxDevices, t.Null()], { error: `must be a whole number from 1 to ${MAX_SHARE_DEVICES}, or null for no limit` })),
    address: t.Optional(Address),
  })),
  qr: t.Object({
    ttlMinutes: t.Optional(TtlMinutes),
    ttlMs: t.Optional(TtlMs),
    viewOnly: t.Optional(ViewOnly),
    maxDevices: t.Optional(MaxDevices),
    address: t.Optional(Address),
    format: t.Optional(t.Union([t.Literal('json'), t.Literal('image/svg'), t.Literal('image/png')], { error: 'must be json, image/svg or image/png' })),
  }),
  id: t.Object({ id: t.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', error: 'must be a share id from GET /api/shares' }) }),
}

/** Who made a share, as the list shows it: a Tailscale login, else the guard's key. */
function creator(caller: Caller): string {
  return caller.tailscale?.loginName || caller.key
}

export function shareRoutes(services: Services) {
  const create = (name: string, req: ShareRequest, caller: Caller) => createShare(services, name, req, creator(caller))
  return new Elysia({ name: 'api.shares', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .post('/apps/:name/shares', async ({ params, body, caller }) => noStore(await create(params.name, body ?? {}, caller), 201), {
      role: 'admin',
      params: model.app,
      body: model.create,
    })
    .get('/apps/:name/shares/qr', async ({ params, query, caller }) => {
      const { format, ...req } = query
      const share = await create(params.name, req, caller)
      const headers = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-latchkey-share-id': share.id, 'x-latchkey-expires-at': share.expiresAt }
      if (format === 'image/svg') return new Response(await qrSvg(share.url), { headers: { 'content-type': 'image/svg+xml', ...headers } })
      if (format === 'image/png') return new Response((await qrPng(share.url)) as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'image/png', ...headers } })
      return noStore(share, 201)
    }, { role: 'admin', reveals: true, params: model.app, query: model.qr })
    .get('/shares', () => noStore(listShares(services)), { role: 'admin' })
    .delete('/shares/:id', ({ params, caller }) => noStore(revokeShare(services, params.id, creator(caller))), { role: 'admin', params: model.id })
}
