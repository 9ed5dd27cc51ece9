/**
 * A path-mode app lives under its prefix (/apps/grafana), and what latchkey forwards must stay
 * there for every reader, not only for latchkey. latchkey matches the prefix on the path as
 * URL parsing resolves it, but the app (or a proxy or framework in front of it) may decode
 * `%2F` into a slash, read `\` or `%5C` as one, or resolve a dot segment latchkey never saw
 * as one: `/apps/x/..%2Fadmin` is under /apps/x for latchkey and /apps/admin for such an app.
 * So those forms are refused before anything is forwarded.
 *
 * Note: Bun resolves dot segments (`..`, `%2e%2e`, `.%2E`) and turns `\` into `/` before
 * latchkey sees the URL, as a browser would; Deno hands over the path as sent. The check
 * reads whatever the runtime gives, so each form is refused wherever it is still present.
 */

/** Why `url`'s path could leave an app's prefix (a sentence for the 400), or null when it cannot. */
export function unsafeAppPath(url: string): string | null {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return null
  const q = url.indexOf('?', start)
  const h = url.indexOf('#', start)
  const end = q === -1 ? (h === -1 ? url.length : h) : h === -1 ? q : Math.min(q, h)
  const path = url.slice(start, end)
  // Most paths have no escape, backslash or dot after a slash: nothing more to look at.
  if (!path.includes('%') && !path.includes('\\') && !path.includes('/.')) return null
  if (path.includes('\\')) return 'its path has a backslash, which some servers read as "/"'
  const lower = path.toLowerCase()
  if (lower.includes('%5c')) return 'its path has an encoded backslash (%5C), which some servers read as "/"'
  if (lower.includes('%2f')) return 'its path has an encoded slash (%2F), which the app could read as "/"'
  for (const segment of lower.split('/')) {
    const dots = segment.replaceAll('%2e', '.')
    if (dots === '.' || dots === '..') return 'its path has a dot segment ("." or "..", plain or encoded as %2E)'
  }
  return null
}
