/** Headers every latchkey response carries, and the strict CSP of its own pages. */

export function contentSecurityPolicy(apiBase: string): string {
  const connect = apiBase ? `'self' ${new URL(apiBase).origin}` : "'self'"
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${connect}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** Add the baseline headers (pages also get the CSP). Returns a response whose headers are mutable. */
export function withSecurityHeaders(res: Response, opts: { page: boolean; csp: string }): Response {
  let out = res
  try {
    out.headers.set('x-content-type-options', 'nosniff')
  } catch {
    out = new Response(res.body, res)
    out.headers.set('x-content-type-options', 'nosniff')
  }
  // A page that set its own policy keeps it (the sign-in form: see dashboard/pages.ts).
  if (!out.headers.has('referrer-policy')) out.headers.set('referrer-policy', 'no-referrer')
  if (opts.page) {
    out.headers.set('content-security-policy', opts.csp)
    out.headers.set('x-frame-options', 'DENY')
  }
  return out
}

/** Answers to refused origins carry no CORS header at all. */
export function stripCors(res: Response): void {
  for (const name of [...res.headers.keys()]) if (name.startsWith('access-control-')) res.headers.delete(name)
}
