/**
 * Host header hygiene before anything routes on the URL. Bun folds duplicate Host headers
 * into one comma-joined value and accepts HTTP/1.0 without Host: both are refused here.
 */
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[A-Za-z0-9])(?::\d{1,5})?$/

// The last Host found valid: clients send the same one on every request.
let lastValid = ''

export function validHost(host: string | null): boolean {
  if (host && host === lastValid) return true
  if (!host || !HOST.test(host)) return false
  // A port past 65535 passes the pattern but makes URL parsing throw later (a 500).
  const port = /:(\d+)$/.exec(host)
  if (port && Number(port[1]) > 65535) return false
  lastValid = host
  return true
}

/**
 * Elysia finds the path by skipping a fixed number of characters after the scheme, which
 * misreads URLs with a very short host (e.g. `Host: pi`). Rebuild those with a placeholder
 * host; the real Host header is untouched and is what the guard and links use.
 */
export function normalizeUrl(request: Request): Request {
  const url = request.url
  const start = url.indexOf('//') + 2
  const slash = url.indexOf('/', start)
  if (slash !== -1 && slash - start >= 4) return request
  const path = slash === -1 ? '/' : url.slice(slash)
  return new Request(`http://host.invalid${path}`, request)
}
