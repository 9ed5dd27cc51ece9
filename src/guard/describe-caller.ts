/** The public description of a caller (GET /api/whoami, the dashboard header). No secrets. */
import type { Caller } from './identify.ts'

export function describeCaller(caller: Caller) {
  return {
    authenticated: caller.role !== 'none',
    role: caller.role,
    method: caller.via,
    local: caller.local,
    address: caller.address,
    tailscale: caller.tailscale
      ? {
          id: caller.tailscale.id || null,
          loginName: caller.tailscale.loginName,
          displayName: caller.tailscale.displayName,
          avatarUrl: caller.tailscale.profilePicUrl || null,
          node: caller.tailscale.nodeName ?? null,
        }
      : null,
    session: caller.session ? { id: caller.session.id, expiresAt: new Date(caller.session.expiresAt).toISOString() } : null,
    /** A share link's session: the one app it reaches, and whether only to read. */
    share: caller.scope ? { app: caller.scope.app, viewOnly: caller.scope.viewOnly } : null,
    reason: caller.reason ?? null,
  }
}
