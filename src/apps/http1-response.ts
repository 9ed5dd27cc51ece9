/**
 * A strict reader of HTTP/1.1 responses (RFC 9112) for the app proxy's pooled client: the
 * head, then the body as its framing says (Content-Length, chunked coding, or the close of
 * the connection). Whatever two readers could frame differently is refused with a
 * FramingError, and the connection that carried it is never used again: a bare LF or CR,
 * obs-fold, a duplicate Content-Length, Content-Length with Transfer-Encoding, a coding
 * other than chunked, an invalid chunk size, a head over MAX_HEAD bytes, a status line that
 * is not HTTP/1.x. Interim 1xx responses (100 Continue, 103 Early Hints) are skipped. The
 * head's own rules are in http1-head.ts.
 */
import { Buffer } from 'node:buffer'
import { FramingError, parseHead, type ParsedHead, type ResponseHead } from './http1-head.ts'

export { FramingError, type ResponseHead }

/** Where a response goes, in the order of these calls. */
export interface ResponseSink {
  /** The whole response arrived in one piece with its head (`body` null: there is none). */
  whole(head: ResponseHead, body: Uint8Array | null): void
  /** The head, its body to follow through body() and end(). */
  head(head: ResponseHead): void
  body(chunk: Uint8Array): void
  end(): void
}

/** Largest head (status line and headers) accepted. */
export const MAX_HEAD = 64 * 1024
/** Largest chunk-size line (with extensions) and trailer section accepted. */
const MAX_CHUNK_LINE = 4096
const MAX_TRAILERS = 16 * 1024

const CR = 13
const LF = 10

// Phases of one response.
const HEAD = 0
const LENGTH = 1
const CHUNK_SIZE = 2
const CHUNK_DATA = 3
const CHUNK_END = 4
const TRAILERS = 5
const UNTIL_CLOSE = 6
const DONE = 7

/** RFC 9112 §7.1: chunk-size [ chunk-ext ]; the extensions are ignored. */
const CHUNK_LINE = /^([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/

export class ResponseParser {
  #phase = DONE
  #noBody = false
  /** Bytes of the head (or of a chunk-size line) read so far, over several pushes. */
  #parts: Uint8Array[] = []
  #partBytes = 0
  /** The byte before the current one, and how many bytes the current line has, across pushes. */
  #prev = 0
  #line = 0
  /** Bytes left in a Content-Length body or in the current chunk; trailer bytes read. */
  #left = 0
  #keepAlive = false
  /** A head parsed in this push and not yet passed on, with the body bytes that came with it. */
  #pending: ParsedHead | null = null
  #held: Uint8Array[] = []
  #heldBytes = 0
  #started = false

  /** Get ready for the response to a new request (`noBody` for HEAD: it has no body). */
  reset(noBody: boolean): void {
    this.#phase = HEAD
    this.#noBody = noBody
    this.#started = false
    this.#pending = null
    this.#held.length = 0
    this.#startLine()
  }

  /** Whether the response has ended, and then whether its connection may be reused. */
  get done(): boolean {
    return this.#phase === DONE
  }

  get keepAlive(): boolean {
    return this.#keepAlive
  }

  /** Whether any byte has arrived since reset(). */
  get started(): boolean {
    return this.#started
  }

  /**
   * Read `bytes` into `sink`; returns how many belong to this response (fewer than all when
   * it ended before them). Throws a FramingError when the response is malformed.
   */
  push(bytes: Uint8Array, sink: ResponseSink): number {
    const n = bytes.length
    let i = 0
    if (n > 0) this.#started = true
    while (i < n && this.#phase !== DONE) {
      switch (this.#phase) {
        case HEAD:
          i = this.#readHead(bytes, i)
          break
        case LENGTH:
        case CHUNK_DATA: {
          const take = Math.min(this.#left, n - i)
          this.#body(bytes.subarray(i, i + take), sink)
          i += take
          this.#left -= take
          if (this.#left === 0) {
            if (this.#phase === LENGTH) this.#finish(sink)
            else {
              this.#phase = CHUNK_END
              this.#line = 0
            }
          }
          break
        }
        case CHUNK_END:
          // RFC 9112 §7.1: the chunk's data is followed by CRLF, nothing else.
          if (bytes[i] !== (this.#line === 0 ? CR : LF)) throw new FramingError('chunk data not followed by CRLF')
          i++
          if (++this.#line === 2) {
            this.#phase = CHUNK_SIZE
            this.#startLine()
          }
          break
        case CHUNK_SIZE:
          i = this.#readChunkSize(bytes, i)
          break
        case TRAILERS:
          i = this.#readTrailers(bytes, i, sink)
          break
        case UNTIL_CLOSE:
          this.#body(i === 0 ? bytes : bytes.subarray(i), sink)
          i = n
          break
      }
    }
    const head = this.#pending
    if (head !== null) {
      this.#pending = null
      if (this.#phase === DONE) sink.whole(head, this.#heldBody(head))
      else {
        // The response goes on past these bytes: pass on its head, then what came of its body.
        sink.head(head)
        for (const chunk of this.#held) sink.body(chunk)
        this.#held.length = 0
      }
    }
    return i
  }

  /** The connection closed: ends a body read until close; throws if the response was cut short. */
  eof(sink: ResponseSink): void {
    if (this.#phase === DONE) return
    if (this.#phase !== UNTIL_CLOSE) {
      throw new FramingError(this.#phase === HEAD ? (this.#started ? 'the connection closed in the middle of the head' : 'the connection closed before any answer') : 'the connection closed before the body ended', true)
    }
    this.#finish(sink)
  }

  #startLine(): void {
    this.#parts.length = 0
    this.#partBytes = 0
    this.#prev = 0
    this.#line = 0
  }

  #body(chunk: Uint8Array, sink: ResponseSink): void {
    if (chunk.length === 0) return
    if (this.#pending !== null) {
      this.#held.push(chunk)
      this.#heldBytes += chunk.length
    } else sink.body(chunk)
  }

  /** The response has ended: the sink hears it now, or with its head at the end of this push. */
  #finish(sink: ResponseSink): void {
    this.#phase = DONE
    if (this.#pending === null) sink.end()
  }

  #heldBody(head: ParsedHead): Uint8Array | null {
    const held = this.#held
    const body = held.length === 0 ? null : held.length === 1 ? held[0] : Buffer.concat(held, this.#heldBytes)
    held.length = 0
    // A chunked body read whole goes on with its length (the runtime would send one anyway).
    if (head.chunked && head.hasBody) {
      head.headers.delete('transfer-encoding')
      head.headers.set('content-length', String(body?.length ?? 0))
    }
    return body
  }

  /** Scan for the empty line that ends the head, refusing a bare LF or CR on the way. */
  #readHead(bytes: Uint8Array, start: number): number {
    const n = bytes.length
    let prev = this.#prev
    let line = this.#line
    for (let i = start; i < n; i++) {
      const b = bytes[i]
      if (b === LF) {
        if (prev !== CR) throw new FramingError('a bare LF in the response head')
        if (line === 1) {
          this.#parts.push(bytes.subarray(start, i + 1))
          this.#partBytes += i + 1 - start
          this.#headRead()
          return i + 1
        }
        line = 0
      } else {
        if (prev === CR) throw new FramingError('a bare CR in the response head')
        line++
      }
      prev = b
    }
    if (this.#partBytes + n - start > MAX_HEAD) throw new FramingError(`a response head over ${MAX_HEAD / 1024} KiB`)
    // Copied: the head goes on in a later push, and these bytes may be a view of a larger buffer.
    this.#parts.push(bytes.slice(start))
    this.#partBytes += n - start
    this.#prev = prev
    this.#line = line
    return n
  }

  #headRead(): void {
    if (this.#partBytes > MAX_HEAD) throw new FramingError(`a response head over ${MAX_HEAD / 1024} KiB`)
    // Less the CRLF CRLF at its end; latin1, so every byte is one character (obs-text included).
    const text = latin1(this.#parts, this.#partBytes - 4)
    const head = parseHead(text)
    this.#startLine()
    if (head === null) return // an interim 1xx: the final response follows
    this.#keepAlive = head.keepAlive
    this.#pending = head
    this.#heldBytes = 0
    if (this.#noBody || head.status === 204 || head.status === 304) {
      head.hasBody = false
      this.#phase = DONE
    } else if (head.chunked) {
      this.#phase = CHUNK_SIZE
    } else if (head.length >= 0) {
      this.#left = head.length
      this.#phase = head.length === 0 ? DONE : LENGTH
    } else {
      // No length: the body runs until the app closes the connection, which is then not reused.
      this.#keepAlive = false
      this.#phase = UNTIL_CLOSE
    }
  }

  #readChunkSize(bytes: Uint8Array, start: number): number {
    const n = bytes.length
    for (let i = start; i < n; i++) {
      const b = bytes[i]
      if (b === LF) {
        if (this.#prev !== CR) throw new FramingError('a bare LF after a chunk size')
        // Less the CR, in this push's bytes or at the end of an earlier one's.
        this.#parts.push(bytes.subarray(start, i))
        const line = latin1(this.#parts, this.#partBytes + i - start - 1)
        const m = CHUNK_LINE.exec(line)
        const size = m ? parseInt(m[1], 16) : NaN
        if (!(size <= Number.MAX_SAFE_INTEGER)) throw new FramingError('an invalid chunk size')
        this.#startLine()
        if (size === 0) {
          this.#phase = TRAILERS
          this.#left = 0
        } else {
          this.#phase = CHUNK_DATA
          this.#left = size
        }
        return i + 1
      }
      if (this.#prev === CR) throw new FramingError('a bare CR after a chunk size')
      this.#prev = b
    }
    if (this.#partBytes + n - start > MAX_CHUNK_LINE) throw new FramingError('a chunk-size line too long')
    this.#parts.push(bytes.slice(start))
    this.#partBytes += n - start
    return n
  }

  /** Trailer fields are read (strictly) and dropped; the empty line after them ends the body. */
  #readTrailers(bytes: Uint8Array, start: number, sink: ResponseSink): number {
    const n = bytes.length
    for (let i = start; i < n; i++) {
      const b = bytes[i]
      if (++this.#left > MAX_TRAILERS) throw new FramingError('trailers too long')
      if (b === LF) {
        if (this.#prev !== CR) throw new FramingError('a bare LF in the trailers')
        if (this.#line === 1) {
          this.#finish(sink)
          return i + 1
        }
        this.#line = 0
      } else {
        if (this.#prev === CR) throw new FramingError('a bare CR in the trailers')
        // obs-fold in a trailer is as ambiguous as in the head.
        if (this.#line === 0 && (b === 32 || b === 9)) throw new FramingError('obs-fold in the trailers')
        this.#line++
      }
      this.#prev = b
    }
    return n
  }
}

/** The first `length` bytes of `parts` as a latin1 string. */
function latin1(parts: Uint8Array[], length: number): string {
  const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts)
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return buf.toString('latin1', 0, length)
}
