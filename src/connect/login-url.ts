/**
 * Login URLs and QR payloads (runbook §5, §6): `<remote base>/remote-login?rt=<token>`.
 * The remote base is the running tunnel's URL (runbook §1.4: "login URL generation uses
 * the live runtime URL reported by the running tunnel"), else this machine's connect
 * address (token-guard reference, "Allowed origins configuration") with the dashboard port;
 * with neither, a 409 that says what to do.
 */
import type { Services } from '../context.ts'
import { ConflictError } from '../errors.ts'
import { baseUrl, connectCandidates, remoteAccessOn } from './connect-address.ts'
import { pick } from './connect-info.ts'
import type { IssuedToken, LoginRole, LoginTokens, ShortLivedRequest, TokenType } from '../tokens/login-tokens.ts'

export interface RemoteBase {
  /** Origin without a trailing slash, e.g. https://box.example.ts.net */
  base: string
  source: 'tunnel' | 'connect-address'
}

type BaseDeps = Pick<Services, 'config' | 'ports' | 'remoteStatus' | 'network'>

/**
 * Where a phone reaches this latchkey from outside: the running tunnel, else the connect
 * address (`address` picks one of the candidates, as the Connect view's switch does).
 * Throws 409 `remote_base_unavailable`.
 */
export async function remoteBase(s: BaseDeps, address?: string): Promise<RemoteBase> {
  const candidates = connectCandidates(s.config.host, s.config.allowedOrigins, s.network.opened())
  const chosen = address ? pick(candidates, address) : null
  const tunnel = chosen ? null : tunnelOrigin(await s.remoteStatus())
  if (tunnel) return { base: tunnel, source: 'tunnel' }
  const choice = chosen ?? candidates[0] ?? null
  // Headless mode has no dashboard listener; /remote-login is served on the API port then.
  const port = s.ports.dashboard || s.ports.api
  if (choice && port) return { base: baseUrl(choice.address, port), source: 'connect-address' }
  const host = s.config.host
  throw new ConflictError(
    'remote_base_unavailable',
    remoteAccessOn(host, s.network.opened())
      ? 'Cannot build a login URL: no tunnel is running and no concrete address of this machine was found (start a tunnel, or add this machine\'s address to --allowed-origins)'
      : `Cannot build a login URL: no tunnel is running and latchkey listens on ${host} only (open it on one of this machine's addresses in the dashboard's Connect view, start a tunnel, or restart with --host 0.0.0.0)`,
  )
}

/** The origin of a running tunnel from GET /api/remote/status, or null. */
function tunnelOrigin(status: unknown): string | null {
  const st = status as { state?: unknown; url?: unknown } | null
  if (!st || typeof st.url !== 'string' || !st.url) return null
  if (st.state !== undefined && st.state !== 'running') return null
  try {
    const u = new URL(st.url)
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : null
  } catch {
    return null
  }
}

export function loginUrl(base: string, token: string): string {
  return `${base}/remote-login?rt=${encodeURIComponent(token)}`
}

/** What GET /api/remote/url, /api/remote/qr and POST /api/remote-access/auth/login-url return. */
export interface LoginLink {
  url: string
  tokenType: TokenType
  /** ISO time, or null for the persistent token (valid until regenerated). */
  expiresAt: string | null
  ttlMs: number | null
  oneTime: boolean
  role: LoginRole
  source: RemoteBase['source']
}

/**
 * A login URL with a token of `tokenType` (the persistent one, or a new short-lived one).
 * The base is resolved first, so a 409 issues no token.
 */
export async function buildLoginLink(s: BaseDeps & { loginTokens: LoginTokens }, tokenType: TokenType, req: ShortLivedRequest = {}, address?: string): Promise<LoginLink> {
  const { base, source } = await remoteBase(s, address)
  const issued: IssuedToken = tokenType === 'persistent' ? s.loginTokens.persistentToken() : s.loginTokens.generateShortLived(req)
  return {
    url: loginUrl(base, issued.token),
    tokenType,
    expiresAt: issued.expiresAt === null ? null : new Date(issued.expiresAt).toISOString(),
    ttlMs: issued.ttlMs,
    oneTime: issued.oneTime,
    role: issued.role,
    source,
  }
}
