/**
 * The head of an HTTP/1.x response (RFC 9112 §4, §5), read strictly for the app proxy's
 * pooled client (http1-response.ts finds where it ends and reads the body): a status line
 * that is HTTP/1.0 or 1.1, fields that are `name: value` with no obs-fold and no control
 * characters, and a framing that leaves no room for guessing (one Content-Length, or
 * Transfer-Encoding: chunked alone).
 */

/** A response that cannot be read safely; `closed`: the connection closed before it ended. */
export class FramingError extends Error {
  constructor(
    message: string,
    readonly closed = false,
  ) {
    super(message)
    this.name = 'FramingError'
  }
}

export interface ResponseHead {
  status: number
  statusText: string
  headers: Headers
  /** Whether the connection may carry another request once this response has ended. */
  keepAlive: boolean
}

/** RFC 9112 §4: HTTP-version SP status-code SP [reason-phrase]; the last SP is often left out. */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/
/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Control characters a field value may not hold (HTAB is allowed). */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/

export interface ParsedHead extends ResponseHead {
  chunked: boolean
  /** False for an answer to HEAD, a 204 or a 304, whatever its head says. */
  hasBody: boolean
  /** Content-Length, or -1 when there is none. */
  length: number
}

/** The head's text (no final empty line) as a ResponseHead; null for an interim 1xx response. */
export function parseHead(text: string): ParsedHead | null {
  const lines = text.split('\r\n')
  const m = STATUS_LINE.exec(lines[0])
  if (!m) throw new FramingError('a status line that is not HTTP/1.x')
  const http10 = m[1] === '0'
  const status = Number(m[2])
  const headers = new Headers()
  let length = -1
  let encoding: string | null = null
  let close = http10
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k]
    const colon = line.indexOf(':')
    const first = line.charCodeAt(0)
    if (first === 32 || first === 9) throw new FramingError('obs-fold in the response head')
    const name = colon > 0 ? line.slice(0, colon) : ''
    // RFC 9112 §5.1: no whitespace between the name and the colon.
    if (!TOKEN.test(name)) throw new FramingError('a header line that is not name: value')
    const value = trimOws(line, colon + 1)
    if (BAD_VALUE.test(value)) throw new FramingError('a control character in a header value')
    switch (name.length === 14 || name.length === 17 || name.length === 10 ? name.toLowerCase() : '') {
      case 'content-length':
        // RFC 9112 §6.3: several lengths, even equal ones, are refused rather than guessed at.
        if (length !== -1) throw new FramingError('a duplicate Content-Length')
        if (!/^\d{1,15}$/.test(value)) throw new FramingError('an invalid Content-Length')
        length = Number(value)
        break
      case 'transfer-encoding':
        encoding = encoding === null ? value : `${encoding}, ${value}`
        break
      case 'connection':
        for (const option of value.split(',')) if (option.trim().toLowerCase() === 'close') close = true
        break
    }
    headers.append(name, value)
  }
  if (encoding !== null) {
    // RFC 9112 §6.1 and §6.3: a message with both is a smuggling attempt, and a 1.0 message has no codings.
    if (length !== -1) throw new FramingError('both Content-Length and Transfer-Encoding')
    if (http10) throw new FramingError('Transfer-Encoding in an HTTP/1.0 response')
    if (encoding.toLowerCase() !== 'chunked') throw new FramingError('a Transfer-Encoding other than chunked')
  }
  if (status < 200) {
    // RFC 9110 §15.2: interim responses are dropped; 101 answers an upgrade this client never asks for.
    if (status === 101) throw new FramingError('101 Switching Protocols to a request that asked for no upgrade')
    return null
  }
  return { status, statusText: m[3] ?? '', headers, keepAlive: !close, chunked: encoding !== null, hasBody: true, length }
}

/** line from `start`, less leading and trailing spaces and tabs. */
function trimOws(line: string, start: number): string {
  let end = line.length
  while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++
  while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--
  return line.slice(start, end)
}
