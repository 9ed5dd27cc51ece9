/**
 * Where webhook events come from: sessions (device.signed_in, session.revoked), the tunnel
 * lifecycle (tunnel.started, tunnel.failed), the guard's 403 refusals (admin.denied) and
 * share links (share.opened: a device opened one and got a session for its app).
 * Each turns what it knows into a `who` and a few public fields; nothing secret is copied.
 */
import type { SessionRecord, SessionStore } from '../tokens/sessions.ts'
import type { ShareStore } from '../tokens/shares.ts'
import type { TunnelManager } from '../tunnels/tunnel-manager.ts'
import type { Caller } from '../guard/identify.ts'
import type { Who } from './document.ts'
import type { WebhookService } from './webhook-service.ts'

/** A device session as a webhook sees it: its public id, never the cookie or its hash. */
export function sessionWho(s: SessionRecord): Who {
  return { session: s.id, role: s.role, device: s.userAgent || null, signedInWith: s.issuer.split(':')[0] }
}

/** A caller as a webhook sees it (the fields the refusal log line has). */
export function callerWho(c: Caller): Who {
  return {
    via: c.via,
    role: c.role,
    address: c.address,
    session: c.session?.id,
    tailscaleId: c.tailscale?.id || undefined,
    login: c.tailscale?.loginName || undefined,
  }
}

/** Subscribe the webhooks to sessions and the tunnel; returns an unsubscribe function. */
export function attachEventSources(webhooks: WebhookService, sources: { sessions: SessionStore; tunnel: TunnelManager; shares?: ShareStore; now?: () => number }): () => void {
  const now = sources.now ?? Date.now
  const offSessions = sources.sessions.on((what, s) => {
    if (what === 'created') webhooks.emit('device.signed_in', sessionWho(s), { expiresAt: new Date(s.expiresAt).toISOString() })
    // An expired session is not a revocation; everything else removed (sign-out, revoke, a
    // rotated token's sessions, eviction) is.
    else if (s.expiresAt > now()) webhooks.emit('session.revoked', sessionWho(s))
  })
  const offTunnel = sources.tunnel.onTransition((e) => {
    if (e.to !== 'running' && e.to !== 'failed') return
    const t = sources.tunnel.snapshot()
    if (e.to === 'running') webhooks.emit('tunnel.started', null, { tunnel: { provider: t.provider, kind: t.kind, url: t.url } })
    else webhooks.emit('tunnel.failed', null, { tunnel: { provider: t.provider, kind: t.kind, code: t.lastErrorCode } })
  })
  // The share by its public id and what it allows; never the link or its hash.
  const offShares = sources.shares?.onOpened((share, s) =>
    webhooks.emit('share.opened', sessionWho(s), {
      share: { id: share.id, app: share.app, viewOnly: share.viewOnly, maxDevices: share.maxDevices, opened: share.opened, expiresAt: new Date(share.expiresAt).toISOString() },
    }),
  )
  return () => {
    offSessions()
    offTunnel()
    offShares?.()
  }
}

/** admin.denied: a guard 403 (too low a role, or recognised and refused). */
export function emitDenied(webhooks: WebhookService | undefined, request: Request, caller: Caller, reason: string): void {
  if (!webhooks || webhooks.size === 0) return
  webhooks.emit('admin.denied', callerWho(caller), { request: { method: request.method, path: new URL(request.url).pathname }, reason })
}
