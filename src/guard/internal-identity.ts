/**
 * Identity latchkey forwards to itself (an in-process hop that re-enters a listener).
 * The admin-allowlist reference ("Reverse proxy header trust" and advisory
 * GHSA-j8rq-87gr-gm9q): forwarded identity headers are believed only when they carry a
 * per-process random secret, compared in constant time, on a loopback connection to a direct
 * listener; client copies of `x-latchkey-*` are stripped before our own are set. Anything
 * else carrying `x-latchkey-*` is a forgery, and identify() refuses it.
 */
import { Buffer } from 'node:buffer'
import { randomSecret, secretsEqual } from '../tokens/secrets.ts'
import type { Role } from './roles.ts'
import type { Connection } from './connection.ts'
import { isTunnelIngress } from './connection.ts'
import { isLoopbackAddress } from '../net/ip.ts'

export const INTERNAL_PREFIX = 'x-latchkey-'
export const INTERNAL_AUTH_HEADER = 'x-latchkey-internal-auth'
export const INTERNAL_IDENTITY_HEADER = 'x-latchkey-identity'

/** Made once per process and never logged, sent anywhere else, or written to disk. */
const processSecret = randomSecret(32)

export interface ForwardedIdentity {
  role: Exclude<Role, 'none'>
  /** How the original caller was identified (e.g. `tailscale`, `api-key`). */
  via: string
  key: string
  tailscale?: { id: string; loginName: string; displayName: string; profilePicUrl: string; nodeName?: string }
}

export type InternalIdentity = { kind: 'absent' } | { kind: 'forged' } | { kind: 'valid'; identity: ForwardedIdentity }

/** Remove every `x-latchkey-*` header (client copies), in place. */
export function stripInternalHeaders(headers: Headers): void {
  for (const name of [...headers.keys()]) if (name.startsWith(INTERNAL_PREFIX)) headers.delete(name)
}

/** Strip client copies, then set our identity and the process secret on an internal hop. */
export function forwardIdentity(headers: Headers, identity: ForwardedIdentity): void {
  stripInternalHeaders(headers)
  headers.set(INTERNAL_IDENTITY_HEADER, Buffer.from(JSON.stringify(identity), 'utf8').toString('base64url'))
  headers.set(INTERNAL_AUTH_HEADER, processSecret)
}

function hasInternalHeaders(headers: Headers): boolean {
  for (const name of headers.keys()) if (name.startsWith(INTERNAL_PREFIX)) return true
  return false
}

/** Whether this request carries identity forwarded by this very process. */
export function readInternalIdentity(headers: Headers, conn: Connection): InternalIdentity {
  if (!hasInternalHeaders(headers)) return { kind: 'absent' }
  const fromSelf =
    !isTunnelIngress(conn) && conn.peer !== null && isLoopbackAddress(conn.peer.address) && secretsEqual(headers.get(INTERNAL_AUTH_HEADER), processSecret)
  if (!fromSelf) return { kind: 'forged' }
  try {
    const identity = JSON.parse(Buffer.from(headers.get(INTERNAL_IDENTITY_HEADER) ?? '', 'base64url').toString('utf8')) as ForwardedIdentity
    if (identity?.role !== 'admin' && identity?.role !== 'viewer') return { kind: 'forged' }
    return { kind: 'valid', identity }
  } catch {
    return { kind: 'forged' }
  }
}
