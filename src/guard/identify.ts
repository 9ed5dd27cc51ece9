/**
 * identify(): who is calling, and with which role. The one place trust is decided, for
 * every request on every listener. The rules, in order:
 *
 * 1. Forged internal identity: any `x-latchkey-*` header that does not carry this process's
 *    secret (internal-identity.ts) → refused outright (403), whatever else is presented.
 *    Identity this process forwarded to itself → the role it forwarded.
 * 2. Trusted proxies: a request whose TCP peer is in `--trusted-proxies` comes from the
 *    client the proxy names, the right-most address of X-Forwarded-For (else of
 *    `Forwarded: for=`) that is not itself a trusted proxy (addresses.ts). It is never the
 *    local user, whatever that address is: a local user is a loopback peer that no tunnel or
 *    proxy vouches for. A proxy that names no client leaves the request remote.
 * 3. Loopback: a direct connection to the dashboard, API or an app listener (tunnel ingress
 *    never is) from 127.0.0.0/8 or ::1, not from a trusted proxy, with exactly one Host
 *    naming this machine (`localhost`, `127.0.0.1`, `[::1]`, any port: an SSH forward may
 *    use another local port; DNS rebinding fails on the hostname), and
 *    no forwarding, proxy or identity header (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`,
 *    `Via`, `Cf-*`, `Tailscale-*`…).
 * 4. Userspace Tailscale: while Tailscale identity is on, such a loopback peer is first
 *    looked up with WhoIs by its exact ip:port, because tailscaled in userspace-networking
 *    mode re-dials every tailnet connection from 127.0.0.1 (facts §4.2). If WhoIs answers,
 *    the caller is that tailnet peer (rule 9), or a tagged node with no identity, and never
 *    the local user. "No match" or no tailscaled at all: the local user. A lookup that fails
 *    (slow, denied): not the local user, so a credential is needed, and the reason says so.
 * 5. The local user: admin while no `admins` list is configured; once it is, admin only
 *    with `adminAllowLocalhost`, else refused (403) with how to get in (DESIGN.md, "Roles").
 * 6. `adminAllowLocalhost` also admits RFC 1918 peers on direct listeners with no
 *    forwarding headers (Docker bridges; admin-allowlist reference, "Fields").
 * 7. `--insecure-no-auth`: everyone on a direct listener is admin. Never on tunnel ingress.
 * 8. latchkey's credentials: `Authorization: Bearer <secret>` or `?token=<secret>` equal to
 *    the access token or the API key → admin (constant time; an empty secret never matches).
 *    Another Authorization scheme is never latchkey's.
 * 9. Session cookie (from a token or login-link visit) → the role it was issued with.
 *    A session from a share link (its record has a `scope`: one app, maybe view only) is
 *    the exception: it admits only a caller nothing else admits (decided in settled(), so a
 *    Tailscale identity or the local user keeps its own, wider access), as a viewer with
 *    `via: 'share'` and `scope` set. Where a scoped caller may go is scope.ts, and nowhere
 *    else: its app, /api/whoami and its own preferences; a 403 everywhere else.
 * 10. Tailscale WhoIs of a direct peer's address → admin if its UserProfile.ID is in
 *    `admins`, else viewer (403 on admin routes: "access denied: user N is not in admins").
 *    Tagged nodes and unknown peers have no identity (whois.ts; facts §4.2, §4.3). Funnel
 *    requests (`Tailscale-Funnel-Request`) are never looked up.
 * 11. Tailscale serve identity headers: only on the Tailscale ingress, only with
 *    `tailscale.trustServeHeaders` (facts §5: tailscaled strips client copies, but any
 *    local process can reach that port). The login is matched to an ID by WhoIs of the
 *    single X-Forwarded-For address; without that match it is a viewer. Funnel requests
 *    have no identity anywhere: they need a token, and never get admin through Tailscale
 *    (admin-allowlist reference, "Funnel caveat").
 * 12. Guesses: a Bearer or `?token=` that matched nothing is a guess (`failedCredential`,
 *    counted by the guess limiter) only when nothing else admitted the request. Once a
 *    session, the local user or a Tailscale identity admitted it, such values belong to the
 *    app behind latchkey: they pass through unchanged and are never counted.
 *
 * The most permissive role wins. With an empty `admins` list nothing becomes open: every
 * non-public route still needs one of the above.
 */
import type { Role } from './roles.ts'
import { maxRole } from './roles.ts'
import type { Connection } from './connection.ts'
import { isTunnelIngress } from './connection.ts'
import { clientAddress, hasForwardingHeaders, hostIsLocal, isTrustedProxy } from './addresses.ts'
import { isLoopbackAddress, isPrivateAddress } from '../net/ip.ts'
import { matchSecret } from '../tokens/secrets.ts'
import { SESSION_COOKIE, type SessionRecord, type SessionScope, type SessionStore } from '../tokens/sessions.ts'
import { readCookie } from './cookies.ts'
import { readInternalIdentity } from './internal-identity.ts'
import { readServeHeaders } from '../tailscale/serve-headers.ts'
import { personOf, type TailscaleIdentity, type WhoisAnswer } from '../tailscale/whois.ts'
import { requestState } from './request-state.ts'

export type Via = 'loopback' | 'private-network' | 'insecure-no-auth' | 'access-token' | 'api-key' | 'session' | 'share' | 'tailscale' | 'tailscale-serve' | 'internal' | 'anonymous'

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
  /** Set when a share link's session is what admits the caller (rule 9): the one app it reaches. */
  scope?: SessionScope
  tailscale?: TailscaleIdentity
  /** A latchkey credential was presented, matched nothing, and nothing else admitted the request (a guess). */
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
  /** Tailscale WhoIs by peer address (present while Tailscale identity is on). */
  whois?(address: string, port: number): WhoisAnswer | Promise<WhoisAnswer>
}

/** latchkey credentials a request presents: the Bearer value and the `token` query parameter. */
export interface Presented {
  bearer: string | null
  query: string | null
}

const NOTHING: Presented = { bearer: null, query: null }

/** What the request presents as a latchkey credential (rule 8). Read once per request. */
export function presented(request: Request): Presented {
  const state = requestState(request)
  return (state.presented ??= readPresented(request))
}

/** Whether the request presents anything latchkey would take for its credential. */
export function presentsCredential(request: Request): boolean {
  const p = presented(request)
  return p.bearer !== null || p.query !== null
}

function readPresented(request: Request): Presented {
  const auth = request.headers.get('authorization')
  // Only the Bearer scheme is latchkey's; Basic, Jupyter's `token …` and the rest are the app's.
  const m = auth ? /^\s*Bearer(?:\s+(\S+))?\s*$/i.exec(auth) : null
  const bearer = m ? (m[1] ?? '') : null
  const q = request.url.indexOf('?')
  // A substring test spares most requests a parse (a name may be percent-encoded).
  const search = q === -1 ? '' : request.url.slice(q + 1)
  const query = search && (search.includes('token') || search.includes('%')) ? new URLSearchParams(search).get('token') : null
  return bearer === null && query === null ? NOTHING : { bearer, query }
}

/**
 * Whether the connection may be the local user before Tailscale has its say (rules 2, 3):
 * a direct loopback peer, no trusted proxy, a local Host, no forwarding headers.
 */
export function loopbackCandidate(request: Request, conn: Connection, trustedProxies: readonly string[]): boolean {
  if (isTunnelIngress(conn) || !conn.peer) return false
  const peer = conn.peer.address
  if (!isLoopbackAddress(peer) || isTrustedProxy(peer, trustedProxies)) return false
  return hostIsLocal(request.headers.get('host')) && !hasForwardingHeaders(request.headers)
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
  const caller: Caller = {
    role: 'none',
    via: 'anonymous',
    address: clientAddress(headers, conn, o.trustedProxies),
    local: false,
    key: 'anonymous',
    failedCredential: false,
  }

  const internal = readInternalIdentity(headers, conn)
  if (internal.kind === 'forged') {
    return { ...caller, denied: true, reason: 'refused a forged internal identity header (x-latchkey-*): only latchkey itself may send these' }
  }
  if (internal.kind === 'valid') {
    const { identity } = internal
    if (identity.tailscale) caller.tailscale = identity.tailscale
    grant(caller, identity.role, 'internal', identity.key)
    return caller
  }

  if (loopbackCandidate(request, conn, o.trustedProxies)) {
    const answer = o.whois ? o.whois(conn.peer!.address, conn.peer!.port) : UNKNOWN_PEER
    if (answer instanceof Promise) return answer.then((a) => fromLoopback(caller, a, request, conn, o))
    return fromLoopback(caller, answer, request, conn, o)
  }

  credentials(caller, request, conn, o)
  if (o.whois && !isTunnelIngress(conn) && conn.peer && !headers.has('tailscale-funnel-request')) {
    const answer = o.whois(conn.peer.address, conn.peer.port)
    if (answer instanceof Promise) return answer.then((a) => withTailscale(caller, personOf(a), request, conn, o))
    return withTailscale(caller, personOf(answer), request, conn, o)
  }
  return withTailscale(caller, null, request, conn, o)
}

const UNKNOWN_PEER: WhoisAnswer = { kind: 'unknown' }

/** Rule 4: a loopback peer is the local user only if tailscaled did not relay it. */
function fromLoopback(caller: Caller, answer: WhoisAnswer, request: Request, conn: Connection, o: GuardOptions): Caller | Promise<Caller> {
  if (answer.kind === 'unknown') caller.local = true
  else if (answer.kind === 'tagged') {
    caller.reason = 'this connection is a tagged Tailscale device relayed by tailscaled, and tagged devices have no user identity: sign in with the access token or a login link'
  } else if (answer.kind === 'failed') {
    caller.reason = `Tailscale could not confirm that this loopback connection is not a tailnet peer relayed by tailscaled (${answer.why}): sign in with the access token or a login link`
  }
  credentials(caller, request, conn, o)
  return withTailscale(caller, personOf(answer), request, conn, o)
}

/** Rules 5–9: the local user, private networks, no-auth, latchkey's credentials, a session. */
function credentials(caller: Caller, request: Request, conn: Connection, o: GuardOptions): void {
  const headers = request.headers
  const direct = !isTunnelIngress(conn)
  if (caller.local) {
    if (o.admins.length === 0 || o.adminAllowLocalhost) grant(caller, 'admin', 'loopback', 'local')
    else {
      caller.key = 'local'
      caller.denied = true
      caller.reason = 'admin access requires a Tailscale identity or an API key (admins is set in latchkey.yaml; to bootstrap, set adminAllowLocalhost: true, or send Authorization: Bearer <apiKey or access token>)'
    }
  } else if (direct && o.adminAllowLocalhost && conn.peer && !conn.viaTrustedProxy && isPrivateAddress(conn.peer.address) && !hasForwardingHeaders(headers)) {
    // Loopback peers are admitted only through the loopback rule (its Host check stops DNS
    // rebinding); RFC 1918 peers (Docker port mapping) here.
    grant(caller, 'admin', 'private-network', `address:${conn.peer.address}`)
  }
  if (direct && o.insecureNoAuth) grant(caller, 'admin', 'insecure-no-auth', 'local')

  const p = presented(request)
  if (p.bearer !== null || p.query !== null) {
    const secrets = [o.accessToken(), o.apiKey]
    for (const value of [p.bearer, p.query]) {
      if (value === null) continue
      const match = matchSecret(value, secrets)
      if (match === 0) grant(caller, 'admin', 'access-token', 'token')
      else if (match === 1) grant(caller, 'admin', 'api-key', 'api-key')
      // A guess only if nothing else admits the request (rule 12, decided in settled()).
      else caller.failedCredential = true
    }
  }

  const cookie = readCookie(headers.get('cookie'), SESSION_COOKIE)
  if (cookie) {
    const session = o.sessions.lookup(cookie)
    if (session) {
      caller.session = session
      // A share's session admits only if nothing else does (rule 9, settled()).
      if (!session.scope) grant(caller, session.role, 'session', `session:${session.id}`)
    }
  }
}

/** Rules 10–11: a Tailscale identity (WhoIs of the peer, then Serve headers on the ingress), and the final touches. */
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
    const who = o.whois && serve.clientIp ? personOf(await o.whois(serve.clientIp, 0)) : null
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
  // Rule 9: a share link's session, scoped to its app, for a caller nothing else admitted.
  const scope = caller.session?.scope
  if (scope && caller.role === 'none') {
    grant(caller, caller.session!.role, 'share', `session:${caller.session!.id}`)
    caller.scope = scope
  }
  // Rule 12: a credential that matched nothing is a guess only on a request nothing admitted.
  if (caller.role !== 'none') caller.failedCredential = false
  if (caller.role === 'admin') {
    caller.reason = undefined
    caller.denied = undefined
  }
  return caller
}
