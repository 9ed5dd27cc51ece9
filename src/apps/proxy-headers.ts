/**
 * What crosses the proxy in each direction. Upstream: no hop-by-hop headers (RFC 9110
 * §7.6.1), none of latchkey's secrets (its session cookie, and its access token or API key
 * wherever a header or cookie carries one), no client copy of a forwarding or identity
 * header; then latchkey's own X-Forwarded-* and, when the app asks for them, the caller's
 * identity (admin-allowlist reference, "Reverse proxy header trust": strip client-supplied
 * identity headers before setting the resolved ones). Everything else, an Authorization
 * header of the app's own included, reaches the app unchanged.
 * Downstream: no hop-by-hop headers, no cookie that would shadow latchkey's session, and in
 * path mode redirects and cookie paths kept under the app's prefix.
 */
import type { Caller } from '../guard/identify.ts'
import { isForwardingHeader } from '../guard/addresses.ts'
import { SESSION_COOKIE } from '../tokens/sessions.ts'

/** RFC 9110 §7.6.1 plus the legacy ones every proxy drops. */
const HOP_BY_HOP_NAMES = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']
const HOP_BY_HOP = new Set(HOP_BY_HOP_NAMES)

/** A valid header name (a Connection list may hold anything; Headers throws on the rest). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/

/** Header names listed in Connection are hop-by-hop too (null when there is no Connection header). */
function connectionListed(headers: Headers): Set<string> | null {
  const value = headers.get('connection')
  if (value === null) return null
  const listed = new Set<string>()
  for (const n of value.split(',')) listed.add(n.trim().toLowerCase())
  return listed
}

/**
 * Whether a header or cookie value carries one of latchkey's secrets: the value itself, or
 * the last word of it (`Bearer <secret>`, `token <secret>`).
 */
export function carriesSecret(value: string, secrets: readonly string[]): boolean {
  for (const secret of secrets) {
    if (!secret || value.length < secret.length || !value.endsWith(secret)) continue
    const before = value.length - secret.length - 1
    if (before < 0 || value.charCodeAt(before) === 32) return true
  }
  return false
}

/**
 * The Cookie header an app receives (null when nothing is left): without latchkey's
 * session cookie, without a cookie holding one of latchkey's secrets, and only the cookies
 * `sends(name)` allows (another app's are not this app's: cookie-owners.ts).
 *
 * With `firstOfEachName` (path mode), only the first cookie of each name: a path-mode app's
 * cookies are scoped to its prefix, and a browser lists cookies with longer paths first
 * (RFC 6265 §5.4), so the first is the app's own and a later one of the same name belongs
 * to an app at `/` (Jupyter's `_xsrf` in port mode, say). Servers that keep the last one
 * would otherwise read the other app's value.
 */
export function appCookies(cookie: string, secrets: readonly string[], sends: (name: string) => boolean = () => true, firstOfEachName = false): string | null {
  const seen = firstOfEachName ? new Set<string>() : null
  const kept = cookie.split(';').filter((part) => {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim()
    if (name === SESSION_COOKIE || !sends(name)) return false
    if (seen) {
      if (seen.has(name)) return false
      seen.add(name)
    }
    return eq === -1 || !carriesSecret(part.slice(eq + 1).trim(), secrets)
  })
  const out = kept.map((p) => p.trim()).filter(Boolean).join('; ')
  return out || null
}

export interface UpstreamContext {
  caller: Caller
  /** latchkey's access token and API key: never sent to an app, wherever they appear. */
  secrets: readonly string[]
  /** Whether the app may receive the cookie of this name (by default, every one). */
  sendsCookie?: (name: string) => boolean
  /** The Host the client addressed (for X-Forwarded-Host). */
  host: string
  proto: 'http' | 'https'
  identityHeaders: boolean
  /** Path-mode prefix, sent as X-Forwarded-Prefix. */
  prefix?: string
  /** Keep Upgrade/Connection (WebSocket handshakes build their own). */
  websocket?: boolean
}

/** The headers to send upstream. */
export function upstreamHeaders(incoming: Headers, ctx: UpstreamContext): Headers {
  const listed = connectionListed(incoming)
  const out = new Headers()
  for (const [name, value] of incoming) {
    if (HOP_BY_HOP.has(name) || listed?.has(name) || name === 'host' || isForwardingHeader(name)) continue
    if (name === 'cookie') {
      const rest = appCookies(value, ctx.secrets, ctx.sendsCookie, ctx.prefix !== undefined)
      if (rest) out.set('cookie', rest)
      continue
    }
    if (carriesSecret(value, ctx.secrets)) continue
    out.append(name, value)
  }
  out.set('x-forwarded-for', ctx.caller.address)
  out.set('x-forwarded-proto', ctx.proto)
  out.set('x-forwarded-host', ctx.host)
  if (ctx.prefix) out.set('x-forwarded-prefix', ctx.prefix)
  if (ctx.identityHeaders) setIdentity(out, ctx.caller)
  return out
}

/** The caller's identity for apps that asked for it (values are ASCII-safe). */
function setIdentity(out: Headers, caller: Caller): void {
  const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)
  out.set('x-latchkey-role', caller.role)
  out.set('x-latchkey-via', caller.via)
  // `key` is "local", "tailscale:<id>", "session:<id>", "token" or "api-key": never a secret.
  out.set('x-latchkey-user', ascii(caller.tailscale?.id ? `tailscale:${caller.tailscale.id}` : caller.key))
  if (caller.tailscale) {
    out.set('x-latchkey-user-login', ascii(caller.tailscale.loginName))
    out.set('x-latchkey-user-name', ascii(caller.tailscale.displayName))
  }
}

export interface DownstreamContext {
  /** The upstream origin and base path (target), to turn absolute redirects back into ours. */
  target: URL
  /** Path-mode prefix (e.g. /apps/grafana); undefined in port mode. */
  prefix?: string
}

/**
 * The app's response head made fit for the client, in place: hop-by-hop headers (and those
 * Connection names) dropped, Location and every Set-Cookie rewritten. Where the runtime lets
 * latchkey edit the app's response, it then goes out as it is, with no copy of its head.
 */
export function editDownstreamHeaders(headers: Headers, ctx: DownstreamContext): void {
  // Every Set-Cookie is rewritten (or dropped), even one the Connection header names.
  const cookies = headers.has('set-cookie') ? headers.getSetCookie() : null
  const listed = connectionListed(headers)
  if (listed) for (const name of listed) if (TOKEN.test(name)) headers.delete(name)
  for (const name of HOP_BY_HOP_NAMES) headers.delete(name)
  const location = headers.get('location')
  if (location !== null) headers.set('location', rewriteLocation(location, ctx))
  // The app's own Referrer-Policy (and CSP, framing rules) shape how the browser treats its
  // pages: they pass as they are. Without one, the browser's default, which keeps Origin on
  // the app's own form posts (`no-referrer` would make Chromium send Origin: null, and the
  // same-origin rule would refuse the app's login form).
  if (!headers.has('referrer-policy')) headers.set('referrer-policy', 'strict-origin-when-cross-origin')
  if (cookies) {
    headers.delete('set-cookie')
    for (const cookie of cookies) {
      const rewritten = rewriteSetCookie(cookie, ctx.prefix)
      if (rewritten) headers.append('set-cookie', rewritten)
    }
  }
}

/**
 * A redirect to the upstream's own origin becomes a path on ours; in path mode, a path
 * outside the prefix is moved under it (apps that half-know their base path).
 */
export function rewriteLocation(location: string, ctx: DownstreamContext): string {
  let path = location
  if (/^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//')) {
    let url: URL
    try {
      url = new URL(location, ctx.target)
    } catch {
      return location
    }
    if (url.origin !== ctx.target.origin) return location
    path = url.pathname + url.search + url.hash
  }
  // Browsers read a leading backslash as a slash (`\\evil.example`, `\/evil.example` go off-site).
  if (!path.startsWith('/') && !path.startsWith('\\')) return path
  // Collapse leading slashes so the result can never be protocol-relative (//evil.example).
  path = path.replace(/^[/\\]+/, '/')
  const prefix = ctx.prefix
  if (prefix && path !== prefix && !path.startsWith(prefix + '/') && !path.startsWith(prefix + '?')) path = prefix + path
  return path
}

/** RFC 6265 §4.1.1: a cookie name is an RFC 9110 token (no space, comma, quote or control). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Whether a cookie name would pass for latchkey's session with some reader: in another case
 * (case-insensitive cookie parsers), or behind a `__Secure-`, `__Host-` or `__Host-Http-`
 * style prefix.
 */
function shadowsSession(name: string): boolean {
  return name.toLowerCase().replace(/^__(?:[a-z]+-)+/, '') === SESSION_COOKIE
}

/**
 * Drop cookies that could pass for latchkey's session (an app must not replace it), and
 * nameless or oddly named ones; in path mode scope Path to the prefix and drop Domain, so
 * apps on one origin keep their cookies apart.
 *
 * Note: a nameless cookie is the dangerous one. RFC 6265bis §5.6 stores `=latchkey_session=x`
 * (and a pair with no "=" at all) with an empty name, and the browser sends back only its
 * value: `Cookie: latchkey_session=x`, ahead of the real one when its Path is longer.
 */
export function rewriteSetCookie(cookie: string, prefix: string | undefined): string | null {
  const parts = cookie.split(';')
  const eq = parts[0].indexOf('=')
  if (eq === -1) return null
  const name = parts[0].slice(0, eq).trim()
  if (!COOKIE_NAME.test(name) || shadowsSession(name)) return null
  if (!prefix) return cookie
  const attrs = parts.slice(1).filter((a) => !/^\s*(path|domain)\s*(=|$)/i.test(a))
  const path = /;\s*path\s*=\s*([^;]*)/i.exec(cookie)?.[1]?.trim()
  const scoped = path && (path === prefix || path.startsWith(prefix + '/')) ? path : prefix
  return [parts[0], ...attrs.map((a) => a.trim()).filter(Boolean), `Path=${scoped}`].join('; ')
}
