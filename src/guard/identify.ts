/**
 * identify(): who is calling, and with which role. The one place trust is decided, for
 * every request on every listener. The cases, in order:
 *
 * - Loopback (the local user): a direct connection to the dashboard, API or an app listener
 *   from 127.0.0.0/8 or ::1, with exactly one Host header naming this machine and no
 *   forwarding or identity headers (unless the peer is a trusted proxy). Tunnel ingress is
 *   never loopback, whatever its peer. Admin while no `admins` list is configured; once it
 *   is, admin only with `adminAllowLocalhost` (DESIGN.md, "Roles").
 * - `adminAllowLocalhost` also admits RFC 1918 peers on direct listeners (Docker bridges).
 * - `--insecure-no-auth`: everyone on a direct listener is admin. Never on tunnel ingress.
 * - Bearer or `?token=`: the access token → admin; the API key → admin.
 * - Session cookie (from a token or login-link visit) → the role it was issued with.
 * - Tailscale WhoIs of a direct tailnet peer → admin if its UserProfile.ID is in `admins`,
 *   else viewer. Tagged nodes have no identity.
 * - Tailscale serve identity headers: only on the Tailscale ingress, only with
 *   `tailscale.trustServeHeaders`, never for Funnel requests (`Tailscale-Funnel-Request`).
 *
 * The most permissive role wins. A presented credential that is wrong is reported in
 * `failedCredential`, so the rate limiter can count guesses.
 */
import type { Role } from './roles.ts'
import { maxRole } from './roles.ts'
import type { Connection } from './connection.ts'
import { isTunnelIngress } from './connection.ts'
import { clientAddress, hasForwardingHeaders, hostIsLocal, isLoopbackAddress, isPrivateAddress } from './addresses.ts'
import { secretsEqual } from '../tokens/secrets.ts'
import { SESSION_COOKIE, type SessionRecord, type SessionStore } from '../tokens/sessions.ts'
import { readCookie } from './cookies.ts'

export type Via = 'loopback' | 'private-network' | 'insecure-no-auth' | 'access-token' | 'api-key' | 'session' | 'tailscale' | 'anonymous'

export interface TailscaleIdentity {
  id: string
  loginName: string
  displayName: string
  profilePicUrl: string
  nodeName?: string
}

export interface Caller {
  role: Role
  via: Via
  /** Client address (peer, or what a tunnel or trusted proxy reports). */
  address: string
  /** The local user, per the loopback rule. */
  local: boolean
  /** Stable key for per-user data (preferences): "local", "tailscale:<id>", "session:<id>", "api-key", "token". */
  key: string
  session?: SessionRecord
  tailscale?: TailscaleIdentity
  /** A credential was presented and was wrong (counts as a guess). */
  failedCredential: boolean
  /** Why the role is lower than the caller might expect, in words a person can act on. */
  reason?: string
}

export interface GuardOptions {
  insecureNoAuth: boolean
  admins: readonly string[]
  adminAllowLocalhost: boolean
  trustedProxies: readonly string[]
  trustServeHeaders: boolean
  apiKey?: string
  /** The current access token, or null when none is in force. */
  accessToken(): string | null
  sessions: SessionStore
  /** Tailscale WhoIs by peer address; null for no identity. */
  whois?(address: string, port: number): Promise<TailscaleIdentity | null>
}

/** Bearer credential from `Authorization`, else `?token=` (for links and image URLs). */
export function presentedToken(request: Request): string | null {
  const auth = request.headers.get('authorization')
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim())
    return m ? m[1] : ''
  }
  const q = request.url.indexOf('?')
  if (q === -1) return null
  return new URLSearchParams(request.url.slice(q + 1)).get('token')
}

/** Whether this request is the local user (see the module comment). */
export function isLocal(request: Request, conn: Connection, trustedProxies: readonly string[]): boolean {
  if (isTunnelIngress(conn) || !conn.peer) return false
  const peer = conn.peer.address
  if (trustedProxies.includes(peer)) {
    const client = clientAddress(request.headers, conn, trustedProxies)
    return isLoopbackAddress(client) && hostIsLocal(request.headers.get('host'), conn.localPort)
  }
  return isLoopbackAddress(peer) && hostIsLocal(request.headers.get('host'), conn.localPort) && !hasForwardingHeaders(request.headers)
}

export async function identify(request: Request, conn: Connection, o: GuardOptions): Promise<Caller> {
  const headers = request.headers
  const local = isLocal(request, conn, o.trustedProxies)
  const caller: Caller = {
    role: 'none',
    via: 'anonymous',
    address: clientAddress(headers, conn, o.trustedProxies),
    local,
    key: 'anonymous',
    failedCredential: false,
  }
  // Most permissive wins: a later source replaces the caller only with a higher role.
  const grant = (role: Role, via: Via, key: string) => {
    if (maxRole(caller.role, role) !== caller.role) Object.assign(caller, { role, via, key })
  }
  const direct = !isTunnelIngress(conn)
  const allowlist = o.admins.length > 0

  if (local) {
    if (!allowlist) grant('admin', 'loopback', 'local')
    else if (o.adminAllowLocalhost) grant('admin', 'loopback', 'local')
    else {
      caller.key = 'local'
      caller.reason = 'admin access requires a Tailscale identity or an API key (or set adminAllowLocalhost: true in latchkey.yaml to bootstrap)'
    }
  } else if (direct && allowlist && o.adminAllowLocalhost && conn.peer && !hasForwardingHeaders(headers) &&
    (isLoopbackAddress(conn.peer.address) || isPrivateAddress(conn.peer.address))) {
    grant('admin', 'private-network', `address:${conn.peer.address}`)
  }
  if (direct && o.insecureNoAuth) grant('admin', 'insecure-no-auth', 'local')

  const token = presentedToken(request)
  if (token !== null) {
    const access = o.accessToken()
    if (secretsEqual(token, access)) grant('admin', 'access-token', 'token')
    else if (secretsEqual(token, o.apiKey)) grant('admin', 'api-key', 'api-key')
    else caller.failedCredential = true
  }

  const cookie = readCookie(headers.get('cookie'), SESSION_COOKIE)
  if (cookie) {
    const session = o.sessions.lookup(cookie)
    if (session) {
      caller.session = session
      grant(session.role, 'session', `session:${session.id}`)
    }
  }

  if (o.whois && direct && conn.peer && !local) {
    const who = await o.whois(conn.peer.address, conn.peer.port)
    if (who) {
      caller.tailscale = who
      const admin = o.admins.includes(who.id)
      if (!admin && allowlist) caller.reason = `access denied: user ${who.id} is not in admins`
      grant(admin ? 'admin' : 'viewer', 'tailscale', `tailscale:${who.id}`)
    }
  }

  if (conn.listener === 'tailscale-ingress' && o.trustServeHeaders && !headers.has('tailscale-funnel-request')) {
    const login = headers.get('tailscale-user-login')
    if (login) {
      // Serve headers carry the login name, not the numeric ID; admins are listed by ID,
      // so a serve identity alone is a viewer (admin needs WhoIs, an API key or a token).
      caller.tailscale ??= { id: '', loginName: login, displayName: headers.get('tailscale-user-name') ?? login, profilePicUrl: headers.get('tailscale-user-profile-pic') ?? '' }
      grant('viewer', 'tailscale', `tailscale-login:${login}`)
    }
  }
  return caller
}
