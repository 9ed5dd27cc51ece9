/**
 * The identity headers `tailscale serve` sets on what it proxies (facts §5). tailscaled
 * deletes client copies first, so they mean something only on the Tailscale ingress, and only
 * when the operator says tailscaled is the one reaching it (`tailscale.trustServeHeaders`).
 */
import { Buffer } from 'node:buffer'

export interface ServeHeaders {
  /** Facts §5: a Funnel request carries only `Tailscale-Funnel-Request`, never a user. */
  funnel: boolean
  loginName: string
  displayName: string
  profilePicUrl: string
  /** The single client IP tailscaled puts in X-Forwarded-For (§5), if it is one address. */
  clientIp: string | null
}

/** Facts §5: non-ASCII login and name values are RFC 2047 Q-encoded (`=?utf-8?q?...?=`). */
export function decodeRfc2047(value: string): string {
  const m = /^=\?utf-8\?q\?(.*)\?=$/i.exec(value.trim())
  if (!m) return value
  const bytes: number[] = []
  const text = m[1]
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '_') bytes.push(0x20)
    else if (c === '=' && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(c.charCodeAt(0) & 0xff)
  }
  return Buffer.from(bytes).toString('utf8')
}

export function readServeHeaders(headers: Headers): ServeHeaders {
  const xff = headers.get('x-forwarded-for')?.trim() ?? ''
  return {
    funnel: headers.has('tailscale-funnel-request'),
    loginName: decodeRfc2047(headers.get('tailscale-user-login') ?? ''),
    displayName: decodeRfc2047(headers.get('tailscale-user-name') ?? ''),
    profilePicUrl: headers.get('tailscale-user-profile-pic') ?? '',
    clientIp: xff && !xff.includes(',') && !xff.includes(' ') ? xff : null,
  }
}
