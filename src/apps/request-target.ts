/**
 * The path and query of a request URL without a full URL parse on every proxied request.
 * A URL made only of characters that parsing leaves alone is sliced; anything else (percent
 * escapes, dot segments, backslashes, non-ASCII, a fragment) goes through `new URL`, so
 * the answer is always what `new URL(url).pathname` and `.search` say.
 */

/** Characters a serialized path and query keep as they are, with no "/." that could be a dot segment. */
const PLAIN = /^[A-Za-z0-9\-_~!$&()*+,;=:@/?.]*$/

export interface RequestTarget {
  /** As URL.pathname: starts with "/". */
  path: string
  /** As URL.search: "" or "?" followed by at least one character. */
  search: string
}

export function requestTarget(url: string): RequestTarget {
  const scheme = url.indexOf('://')
  const start = scheme === -1 ? -1 : url.indexOf('/', scheme + 3)
  if (start !== -1) {
    const rest = url.slice(start)
    if (PLAIN.test(rest) && !rest.includes('/.')) {
      const q = rest.indexOf('?')
      if (q === -1) return { path: rest, search: '' }
      return { path: rest.slice(0, q), search: q === rest.length - 1 ? '' : rest.slice(q) }
    }
  }
  const parsed = new URL(url)
  return { path: parsed.pathname, search: parsed.search }
}
