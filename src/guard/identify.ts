/**
 * identify(): who is calling, and with which role. The one place trust is decided, for
 * every request on every listener. The cases, in order:
 *
 * - Forged internal identity: any `x-latchkey-*` header that does not carry this process's
 *   secret (internal-identity.ts) → refused outright (403), whatever else is presented.
 *   Identity this process forwarded to itself → the role it forwarded.
 * - Loopback (the local user): a direct connection to the dashboard, API or an app listener
 *   from 127.0.0.0/8 or ::1, with exactly one Host header naming this machine and no
 *   forwarding or identity headers (unless the peer is a trusted proxy). Tunnel ingress is
 *   never loopback, whatever its peer. Admin while no `admins` list is configured; once it
 *   is, admin only with `adminAllowLocalhost`, else refused (403) with how to get in
 *   (DESIGN.md, "Roles").
 * - `adminAllowLocalhost` also admits RFC 1918 peers on direct listeners with no forwarding
 *   headers (Docker bridges; admin-allowlist reference, "Fields"). Never on tunnel ingress.
 * - `--insecure-no-auth`: everyone on a direct listener is admin. Never on tunnel ingress.
 * - Bearer or `?token=`: the access token → admin; the API key → admin.
 * - Session cookie (from a token or login-link visit) → the role it was issued with.
 * - Tailscale WhoIs of a direct peer's address → admin if its UserProfile.ID is in `admins`,
 *   else viewer (403 on admin routes: "access denied: user N is not in admins"). Tagged
 *   nodes and unknown peers have no identity (whois.ts; facts §4.2, §4.3).
 * - Tailscale serve identity headers: only on the Tailscale ingress, only with
 *   `tailscale.trustServeHeaders` (facts §5: tailscaled strips client copies, but any local
 *   process can reach that port). The login is matched to an ID by WhoIs of the single
 *   X-Forwarded-For address; without that match it is a viewer. Funnel requests
 *   (`Tailscale-Funnel-Request`) have no identity anywhere: they need a token, and never get
 *   admin through Tailscale (admin-allowlist reference, "Funnel caveat").
 *
 * The most permissive role wins. A presented credential that is wrong is reported in
 * `failedCredential`, so the rate limiter can count guesses. With an empty `admins` list
 * nothing becomes open: every non-public route still needs one of the above.
 */
import type { Role } from './roles.ts'
import { maxRole } from './roles.ts'
import type { Connection } from './connection.ts'
import { isTunnelIngress } from './connection.ts'
import { clientAddress, hasForwardingHeaders, hostIsLocal } from './addresses.ts'
import { isLoopbackAddress, isPrivateAddress } from '../net/ip.ts'
import { matchSecret } from '../tokens/secrets.ts'
import { SESSION_COOKIE, type SessionRecord, type SessionStore } from '../tokens/sessions.ts'
import { readCookie } from './cookies.ts'
import { readInternalIdentity } from './internal-identity.ts'
import { readServeHeaders } from '../tailscale/serve-headers.ts'
import type { TailscaleIdentity } from '../tailscale/whois.ts'
import { requestState } from './request-state.ts'

export type Via = 'loopback' | 'private-network' | 'insecure-no-auth' | 'access-token' | 'api-key' | 'session' | 'tailscale' | 'tailscale-serve' | 'internal' | 'anonymous'

export type { TailscaleIdentity }

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
  /**
   * Recognised and refused (the local user under an allowlist, a forged internal header):
   * answer 403 with `reason` rather than 401.
   */
  denied?: boolean
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
  whois?(address: string, port: number): TailscaleIdentity | null | Promise<TailscaleIdentity | null>
}

/** Bearer credential from `Authorization`, else `?token=` (for links and image URLs). Read once per request. */
export function presentedToken(request: Request): string | null {
  const state = requestState(request)
  if (state.token === undefined) state.token = readPresentedToken(request)
  return state.token
}

function readPresentedToken(request: Request): string | null {
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

/** A later source replaces the caller only with a higher role (the most permissive wins). */
function grant(caller: Caller, role: Role, via: Via, key: string): void {
  if (maxRole(caller.role, role) !== caller.role) {
    caller.role = role
    caller.via = via
    caller.key = key
  }
}

function notAdmin(id: string, o: GuardOptions): string {
  return `access denied: user ${id} is not in admins` + (o.admins.length > 0 ? '' : ' (no admins are configured: add this ID to admins in latchkey.yaml)')
}

/**
 * Who is calling. Synchronous unless a Tailscale lookup has to wait for tailscaled (cached
 * answers come back as values), so the common request pays for no promise.
 */
export function identify(request: Request, conn: Connection, o: GuardOptions): Caller | Promise<Caller> {
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
  const direct = !isTunnelIngress(conn)

  const internal = readInternalIdentity(headers, conn)
  if (internal.kind === 'forged') {
    return { ...caller, local: false, denied: true, reason: 'refused a forged internal identity header (x-latchkey-*): only latchkey itself may send these' }
  }
  if (internal.kind === 'valid') {
    const { identity } = internal
    if (identity.tailscale) caller.tailscale = identity.tailscale
    grant(caller, identity.role, 'internal', identity.key)
    return caller
  }

  if (local) {
    if (o.admins.length === 0 || o.adminAllowLocalhost) grant(caller, 'admin', 'loopback', 'local')
    else {
      caller.key = 'local'
      caller.denied = true
      caller.reason = 'admin access requires a Tailscale identity or an API key (admins is set in latchkey.yaml; to bootstrap, set adminAllowLocalhost: true, or send Authorization: Bearer <apiKey or access token>)'
    }
  } else if (direct && o.adminAllowLocalhost && conn.peer && isPrivateAddress(conn.peer.address) && !hasForwardingHeaders(headers)) {
    // Loopback peers are admitted only through the loopback rule above (its Host check stops
    // DNS rebinding); RFC 1918 peers (Docker port mapping) here.
    grant(caller, 'admin', 'private-network', `address:${conn.peer.address}`)
  }
  if (direct && o.insecureNoAuth) grant(caller, 'admin', 'insecure-no-auth', 'local')

  const token = presentedToken(request)
  if (token !== null) {
    const match = matchSecret(token, [o.accessToken(), o.apiKey])
    if (match === 0) grant(caller, 'admin', 'access-token', 'token')
    else if (match === 1) grant(caller, 'admin', 'api-key', 'api-key')
    else caller.failedCredential = true
  }

  const cookie = readCookie(headers.get('cookie'), SESSION_COOKIE)
  if (cookie) {
    const session = o.sessions.lookup(cookie)
    if (session) {
      caller.session = session
      grant(caller, session.role, 'session', `session:${session.id}`)
    }
  }

  if (o.whois && direct && conn.peer && !local && !headers.has('tailscale-funnel-request')) {
    const answer = o.whois(conn.peer.address, conn.peer.port)
    if (answer instanceof Promise) return answer.then((who) => withTailscale(caller, who, request, conn, o))
    return withTailscale(caller, answer, request, conn, o)
  }
  return withTailscale(caller, null, request, conn, o)
}

/** The Tailscale sources (WhoIs of the peer, then Serve headers on the ingress), and the final touches. */
function withTailscale(caller: Caller, who: TailscaleIdentity | null, request: Request, conn: Connection, o: GuardOptions): Caller | Promise<Caller> {
  if (who) {
    caller.tailscale = who
    const admin = o.admins.includes(who.id)
    if (!admin) caller.reason = notAdmin(who.id, o)
    grant(caller, admin ? 'admin' : 'viewer', 'tailscale', `tailscale:${who.id}`)
  }
  if (conn.listener === 'tailscale-ingress' && o.trustServeHeaders) return withServeHeaders(caller, request, o).then(settled)
  return settled(caller)
}

async function withServeHeaders(caller: Caller, request: Request, o: GuardOptions): Promise<Caller> {
  const serve = readServeHeaders(request.headers)
  if (serve.funnel) {
    caller.reason ??= 'Tailscale Funnel requests carry no identity: open the connect link or send Authorization: Bearer <token>'
  } else if (serve.loginName) {
    // The headers carry a login name; admins are listed by ID. WhoIs of the client address
    // tailscaled reports gives the ID, believed only when its login matches the header.
    const who = o.whois && serve.clientIp ? await o.whois(serve.clientIp, 0) : null
    if (who && who.loginName === serve.loginName) {
      caller.tailscale ??= who
      const admin = o.admins.includes(who.id)
      if (!admin) caller.reason = notAdmin(who.id, o)
      grant(caller, admin ? 'admin' : 'viewer', 'tailscale-serve', `tailscale:${who.id}`)
    } else {
      caller.tailscale ??= { id: '', loginName: serve.loginName, displayName: serve.displayName || serve.loginName, profilePicUrl: serve.profilePicUrl }
      caller.reason ??= `access denied: ${serve.loginName} has no Tailscale ID latchkey could confirm (admins are matched by ID; use a direct tailnet connection or an API key)`
      grant(caller, 'viewer', 'tailscale-serve', `tailscale-login:${serve.loginName}`)
    }
  }
  return caller
}

function settled(caller: Caller): Caller {
  if (caller.role === 'admin') {
    caller.reason = undefined
    caller.denied = undefined
  }
  return caller
}
