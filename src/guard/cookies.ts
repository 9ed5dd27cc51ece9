/** Cookie reading and the session cookie's attributes. */

/** The value of one cookie from a Cookie header, or null. */
export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null
  }
  return null
}

/**
 * Set-Cookie for a session: HttpOnly, SameSite=Lax (Strict would drop the cookie on the
 * first page after a link opened from another app, which is how login links arrive),
 * Secure over https, Path=/.
 */
export function sessionCookie(name: string, value: string, opts: { secure: boolean; maxAgeSec: number }): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${opts.maxAgeSec}${opts.secure ? '; Secure' : ''}`
}

export function clearCookie(name: string, secure: boolean): string {
  return `${name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`
}
