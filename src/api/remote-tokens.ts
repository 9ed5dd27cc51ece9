/**
 * /api/remote/*: login tokens, login URLs and QR payloads (runbook §5, §6), and the device
 * list (issue 5, "Devices"). Everything here is admin-only, except signing out your own
 * device. Responses carrying a token are never cached, and the GETs that mint one never
 * answer another site (`reveals`).
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { ApiError } from '../errors.ts'
import { buildLoginLink, loginUrl, remoteBase } from '../connect/login-url.ts'
import { qrPng, qrSvg } from '../connect/qr.ts'
import { maskSecret } from '../tokens/secrets.ts'
import { MIN_TTL_MS, type ShortLivedRequest } from '../tokens/login-tokens.ts'
import type { SessionRecord } from '../tokens/sessions.ts'

const TokenType = t.Union([t.Literal('persistent'), t.Literal('short-lived')], { error: 'must be persistent or short-lived' })
const LoginRole = t.Union([t.Literal('admin'), t.Literal('viewer')], { error: 'must be admin or viewer' })
const TtlMs = t.Integer({ minimum: MIN_TTL_MS, error: `must be a whole number of milliseconds, at least ${MIN_TTL_MS}` })
const OneTime = t.Boolean({ error: 'must be true or false' })
/** Beyond the runbook: which connect address the link uses (GET /api/connect lists them); a running tunnel's URL otherwise. */
const Address = t.String({ maxLength: 255, error: 'must be one of the candidates GET /api/connect lists' })

export const model = {
  generate: t.Optional(t.Object({ ttlMs: t.Optional(TtlMs), oneTime: t.Optional(OneTime), role: t.Optional(LoginRole) })),
  link: t.Object({ tokenType: t.Optional(TokenType), ttlMs: t.Optional(TtlMs), oneTime: t.Optional(OneTime), role: t.Optional(LoginRole), address: t.Optional(Address) }),
  qr: t.Object({
    tokenType: t.Optional(TokenType),
    format: t.Optional(t.Union([t.Literal('json'), t.Literal('image/svg'), t.Literal('image/png')], { error: 'must be json, image/svg or image/png' })),
    ttlMs: t.Optional(TtlMs),
    oneTime: t.Optional(OneTime),
    role: t.Optional(LoginRole),
    address: t.Optional(Address),
  }),
  sessionId: t.Object({ id: t.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', error: 'must be a session id from GET /api/remote/sessions' }) }),
}

/** JSON that no cache keeps (it may hold a token). */
export function noStore(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } })
}

/** A device as the device list shows it: never the cookie secret or its hash. */
export function describeSession(s: SessionRecord, currentId: string | undefined) {
  return {
    id: s.id,
    userAgent: s.userAgent,
    firstSeenAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
    role: s.role,
    /** Which kind of credential signed it in: access-token, persistent or short-lived. */
    issuer: s.issuer.split(':')[0],
    persistent: s.durable,
    /**
     * Where it signed in from (null before addresses were kept). Admin-only, like the whole
     * list: it helps the operator tell a stranger's device from their own, and the log has it.
     */
    address: s.address ?? null,
    current: s.id === currentId,
  }
}

const shortLivedOf = (q: { ttlMs?: number; oneTime?: boolean; role?: 'admin' | 'viewer' }, oneTimeDefault: boolean): ShortLivedRequest => ({
  ttlMs: q.ttlMs,
  oneTime: q.oneTime ?? oneTimeDefault,
  role: q.role,
})

export function remoteTokenRoutes(services: Services) {
  const { loginTokens, sessions } = services
  return new Elysia({ name: 'api.remote-tokens', prefix: '/api/remote' })
    .use(guardPlugin(services.guard))
    .post('/token/persistent/regenerate', () => {
      const { revokedSessions } = loginTokens.regeneratePersistent()
      const token = services.settings.get().remoteAccess.tokenStrategy.persistent.token
      services.log.info('persistent login token regenerated', { revokedSessions })
      return noStore({ tokenType: 'persistent', masked: maskSecret(token), revokedSessions })
    }, { role: 'admin' })
    .post('/token/short-lived/generate', async ({ body }) => {
      const issued = loginTokens.generateShortLived(shortLivedOf(body ?? {}, false))
      const base = await remoteBase(services).catch(() => null)
      return noStore({
        token: issued.token,
        tokenType: issued.tokenType,
        expiresAt: new Date(issued.expiresAt!).toISOString(),
        ttlMs: issued.ttlMs,
        clamped: issued.clamped,
        oneTime: issued.oneTime,
        role: issued.role,
        url: base ? loginUrl(base.base, issued.token) : null,
      })
    }, { role: 'admin', body: model.generate })
    .get('/url', async ({ query }) => noStore(await buildLoginLink(services, query.tokenType ?? 'short-lived', shortLivedOf(query, false), query.address)), {
      role: 'admin',
      reveals: true,
      query: model.link,
    })
    // QR codes are shown on screens and photographed: short-lived ones are one-time by default.
    .get('/qr', async ({ query }) => {
      const link = await buildLoginLink(services, query.tokenType ?? 'short-lived', shortLivedOf(query, true), query.address)
      const headers = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...(link.expiresAt ? { 'x-latchkey-expires-at': link.expiresAt } : {}) }
      if (query.format === 'image/svg') return new Response(await qrSvg(link.url), { headers: { 'content-type': 'image/svg+xml', ...headers } })
      if (query.format === 'image/png') return new Response((await qrPng(link.url)) as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'image/png', ...headers } })
      return noStore(link)
    }, { role: 'admin', reveals: true, query: model.qr })
    .get('/sessions', ({ caller }) => noStore({ sessions: sessions.list().map((s) => describeSession(s, caller.session?.id)) }), { role: 'admin' })
    // A viewer may sign out its own device; other devices need an admin.
    .delete('/sessions/:id', ({ params, caller }) => {
      if (caller.role !== 'admin' && caller.session?.id !== params.id) {
        throw new ApiError(403, 'forbidden', 'Signing out another device needs the admin role')
      }
      if (!sessions.revoke(params.id)) throw new ApiError(404, 'session_not_found', 'No signed-in device has that id (it may have signed out or expired)', 'id')
      services.log.info('device signed out', { session: params.id, by: caller.key })
      return noStore({ revoked: true, id: params.id })
    }, { role: 'viewer', params: model.sessionId })
}
