/**
 * Share links (issue 20, part 1) as the API, the dashboard and the terminal interface use
 * them: make one for an app, list the live ones, revoke one. Nothing here knows Elysia.
 *
 * Where a link opens: the app's own origin in port mode (the connect address the Connect view
 * uses, with the app's port), so the session cookie lands there; the remote base of login
 * links in path mode (a running tunnel's URL, else the connect address with the dashboard
 * port), with the app's prefix. A tunnel reaches path-mode apps only: its ingress serves the
 * dashboard listener's paths, not the apps' own ports.
 */
import type { Services } from '../context.ts'
import { ApiError, BadRequestError, ConflictError } from '../errors.ts'
import { baseUrl, connectCandidates } from '../connect/connect-address.ts'
import { pick } from '../connect/connect-info.ts'
import { remoteBase } from '../connect/login-url.ts'
import { DEFAULT_SHARE_TTL_MS, MAX_SHARE_DEVICES, MAX_SHARE_TTL_MS, MIN_SHARE_TTL_MS, SHARE_PARAM, shareIssuer, type ShareRecord } from '../tokens/shares.ts'

export interface ShareRequest {
  /** Lifetime in minutes (15 to 10080) or milliseconds; one of them, default 60 minutes. */
  ttlMinutes?: number
  ttlMs?: number
  viewOnly?: boolean
  maxDevices?: number | null
  /** Which connect address the link uses (GET /api/connect lists them). */
  address?: string
}

type Deps = Pick<Services, 'config' | 'ports' | 'remoteStatus' | 'network' | 'shares' | 'sessions' | 'apps' | 'log' | 'mode'>

/** How many devices each share has signed in now, by issuer (one pass over the sessions). */
function signedIn(sessions: Services['sessions']): Map<string, number> {
  const counts = new Map<string, number>()
  for (const x of sessions.list()) if (x.scope) counts.set(x.issuer, (counts.get(x.issuer) ?? 0) + 1)
  return counts
}

/** A share as the API and the dashboard show it: never the link's secret or its hash. */
export function describeShare(s: ShareRecord, devices: Map<string, number>) {
  return {
    id: s.id,
    app: s.app,
    createdAt: new Date(s.createdAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
    viewOnly: s.viewOnly,
    maxDevices: s.maxDevices,
    /** How many devices opened the link. */
    opened: s.opened,
    /** How many of them are signed in now. */
    devices: devices.get(shareIssuer(s.id)) ?? 0,
    createdBy: s.createdBy,
  }
}

/** The lifetime asked for, checked: exactly one of ttlMinutes and ttlMs, 15 minutes to 7 days. */
export function shareTtlMs(req: Pick<ShareRequest, 'ttlMinutes' | 'ttlMs'>): number {
  if (req.ttlMinutes !== undefined && req.ttlMs !== undefined) throw new BadRequestError('ttlMs', '"ttlMs" and "ttlMinutes" say the same thing: send one of them')
  const field = req.ttlMs !== undefined ? 'ttlMs' : 'ttlMinutes'
  const ms = req.ttlMs ?? (req.ttlMinutes !== undefined ? req.ttlMinutes * 60_000 : DEFAULT_SHARE_TTL_MS)
  if (!Number.isInteger(ms) || ms < MIN_SHARE_TTL_MS || ms > MAX_SHARE_TTL_MS) {
    throw new BadRequestError(field, field === 'ttlMs' ? `"ttlMs" must be a whole number of milliseconds from ${MIN_SHARE_TTL_MS} (15 minutes) to ${MAX_SHARE_TTL_MS} (7 days)` : '"ttlMinutes" must be a whole number of minutes from 15 to 10080 (7 days)')
  }
  return ms
}

/** Where the app's link opens (see the module comment). Throws 404 for no such app, 409 for no address. */
async function linkBase(s: Deps, name: string, address?: string): Promise<{ url: string; source: 'tunnel' | 'connect-address' }> {
  const app = s.apps?.registry.get(name)
  if (!app) throw new ApiError(404, 'app_not_found', `No app named "${name}"`)
  if (app.spec.port !== undefined) {
    const port = s.apps!.listeners.state(name)?.port ?? app.spec.port
    // The app's listener binds latchkey's --host; addresses opened from Connect open the dashboard port only.
    const choice = pick(connectCandidates(s.config.host, s.config.allowedOrigins), address)
    if (!choice || !port) {
      throw new ConflictError('remote_base_unavailable', `Cannot build a share link for "${name}": its port listens on ${s.config.host} only (restart latchkey with --host 0.0.0.0, or give the app a path to share it through the dashboard port or a tunnel)`)
    }
    return { url: `${baseUrl(choice.address, port)}/`, source: 'connect-address' }
  }
  if (s.mode === 'headless') throw new ConflictError('share_unavailable', `Cannot share "${name}": latchkey serve has no dashboard port, which serves path-mode apps (give the app a port)`)
  const { base, source } = await remoteBase(s, address)
  return { url: `${base}${app.spec.path}/`, source }
}

/**
 * Make a share of app `name`: the link (holding the secret, shown once) and the record.
 * The base is resolved first, so a 404 or 409 makes no share.
 */
export async function createShare(s: Deps, name: string, req: ShareRequest, createdBy: string) {
  const ttlMs = shareTtlMs(req)
  const maxDevices = req.maxDevices ?? null
  if (maxDevices !== null && (!Number.isInteger(maxDevices) || maxDevices < 1 || maxDevices > MAX_SHARE_DEVICES)) {
    throw new BadRequestError('maxDevices', `"maxDevices" must be a whole number from 1 to ${MAX_SHARE_DEVICES}, or null for no limit`)
  }
  const { url: base, source } = await linkBase(s, name, req.address)
  const { secret, share } = s.shares.create({ app: name, ttlMs, viewOnly: req.viewOnly === true, maxDevices, createdBy })
  s.log.info('share link created', { share: share.id, app: name, viewOnly: share.viewOnly, maxDevices: maxDevices ?? undefined, expiresAt: new Date(share.expiresAt).toISOString(), by: createdBy })
  return { ...describeShare(share, new Map()), url: `${base}?${SHARE_PARAM}=${secret}`, source }
}

/** Revoke a share: its link stops working and every session it issued ends now. */
export function revokeShare(s: Pick<Services, 'shares' | 'sessions' | 'log'>, id: string, by: string) {
  const share = s.shares.revoke(id)
  if (!share) throw new ApiError(404, 'share_not_found', 'No share link has that id (it may have been revoked, or expired)', 'id')
  const signedOut = s.sessions.revokeIssuer(shareIssuer(id))
  s.log.info('share link revoked', { share: id, app: share.app, signedOut, by })
  return { revoked: true, id, app: share.app, signedOut }
}

/** The live shares, newest first. */
export function listShares(s: Pick<Services, 'shares' | 'sessions'>) {
  const devices = signedIn(s.sessions)
  return { shares: s.shares.live().map((x) => describeShare(x, devices)) }
}
