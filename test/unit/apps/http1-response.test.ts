import { describe, expect, it } from 'bun:test'
import { FramingError, MAX_HEAD, ResponseParser, type ResponseHead, type ResponseSink } from '../../../src/apps/http1-response.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

interface Read {
  events: string[]
  status?: number
  statusText?: string
  headers: Record<string, string>
  cookies: string[]
  body: string
  /** Bytes of the last push that belonged to the response. */
  used: number
  done: boolean
  keepAlive: boolean
}

/** Feed `pieces` to a parser (reset for `noBody`), recording what the sink hears. */
function read(pieces: (string | Uint8Array)[], opts: { noBody?: boolean; eof?: boolean } = {}): Read {
  const parser = new ResponseParser()
  parser.reset(opts.noBody ?? false)
  const out: Read = { events: [], headers: {}, cookies: [], body: '', used: 0, done: false, keepAlive: false }
  const takeHead = (head: ResponseHead) => {
    out.status = head.status
    out.statusText = head.statusText
    out.headers = Object.fromEntries(head.headers)
    out.cookies = head.headers.getSetCookie()
  }
  const sink: ResponseSink = {
    whole(head, body) {
      out.events.push('whole')
      takeHead(head)
      if (body) out.body += dec.decode(body)
    },
    head(head) {
      out.events.push('head')
      takeHead(head)
    },
    body(chunk) {
      out.events.push('body')
      out.body += dec.decode(chunk)
    },
    end() {
      out.events.push('end')
    },
  }
  for (const piece of pieces) out.used = parser.push(typeof piece === 'string' ? enc.encode(piece) : piece, sink)
  if (opts.eof) parser.eof(sink)
  out.done = parser.done
  out.keepAlive = parser.keepAlive
  return out
}

/** Every way of cutting `text` in two, and byte by byte. */
function splits(text: string): string[][] {
  const out = [[text], text.split('')]
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)])
  return out
}

function refusal(pieces: string[], opts: { noBody?: boolean; eof?: boolean } = {}): string {
  try {
    read(pieces, opts)
  } catch (err) {
    expect(err).toBeInstanceOf(FramingError)
    return (err as Error).message
  }
  return 'accepted'
}

describe('ResponseParser', () => {
  it('reads a response whose body came with its head as one piece, keeping the connection', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello'
    const r = read([text])
    expect(r).toMatchObject({ events: ['whole'], status: 200, statusText: 'OK', body: 'hello', used: text.length, done: true, keepAlive: true })
    expect(r.headers).toEqual({ 'content-type': 'text/plain', 'content-length': '5' })
  })

  it('reads the same response however the bytes are cut', () => {
    const text = 'HTTP/1.1 201 Created\r\nX-A: 1\r\nContent-Length: 11\r\n\r\nhello world'
    for (const pieces of splits(text)) {
      const r = read(pieces)
      expect({ status: r.status, body: r.body, done: r.done, keepAlive: r.keepAlive }).toEqual({ status: 201, body: 'hello world', done: true, keepAlive: true })
      // Whole when the head and the end of the body came in the same piece, else head ... end.
      expect(r.events.includes('whole') ? r.events : [r.events[0], r.events.at(-1)]).toEqual(r.events.includes('whole') ? ['whole'] : ['head', 'end'])
    }
  })

  it('reads a chunked body, with extensions and trailers, however it is cut', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'
    for (const pieces of splits(text)) {
      const r = read(pieces)
      expect({ body: r.body, done: r.done, keepAlive: r.keepAlive, used: r.used }).toEqual({ body: 'hello world', done: true, keepAlive: true, used: pieces.at(-1)!.length })
    }
  })

  it('hands on a chunked body read whole with its length instead of its coding', () => {
    const r = read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'])
    expect(r.events).toEqual(['whole'])
    expect(r.headers).toEqual({ 'content-length': '3' })
    expect(read(['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n']).headers).toEqual({ 'content-length': '0' })
  })

  it('streams a body that goes on past the bytes at hand: head, then each piece, then the end', () => {
    const r = read(['HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab', 'cd', 'ef'])
    expect(r.events).toEqual(['head', 'body', 'body', 'body', 'end'])
    expect(r.body).toBe('abcdef')
  })

  it('keeps every Set-Cookie apart', () => {
    const r = read(['HTTP/1.1 302 Found\r\nLocation: /x\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2, c\r\nContent-Length: 0\r\n\r\n'])
    expect(r.cookies).toEqual(['a=1; Path=/', 'b=2, c'])
    expect(r.status).toBe(302)
  })

  it('reads no body after HEAD, 204 or 304, whatever the head says', () => {
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'], { noBody: true })).toMatchObject({ events: ['whole'], body: '', done: true, keepAlive: true })
    expect(read(['HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n'])).toMatchObject({ events: ['whole'], done: true })
    const notModified = 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n'
    expect(read([`${notModified}hello`])).toMatchObject({ events: ['whole'], done: true, used: notModified.length })
  })

  it('skips interim 100 and 103 responses', () => {
    const r = read(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'])
    expect(r).toMatchObject({ events: ['whole'], status: 200, body: 'ok', headers: { 'content-length': '2' } })
  })

  it('reads a body without a length until the connection closes, and never keeps that connection', () => {
    const r = read(['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome', ' more'], { eof: true })
    expect(r).toMatchObject({ events: ['head', 'body', 'body', 'end'], body: 'some more', done: true, keepAlive: false })
  })

  it('does not keep a connection the app closes or an HTTP/1.0 one', () => {
    expect(read(['HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n']).keepAlive).toBe(false)
    expect(read(['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n']).keepAlive).toBe(false)
  })

  it('says where a response ended when more bytes follow it (a second response, extra bytes)', () => {
    const first = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst'
    expect(read([`${first}HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled`])).toMatchObject({ body: 'first', used: first.length, done: true })
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n'
    expect(read([`${chunked}extra`])).toMatchObject({ body: 'x', used: chunked.length })
  })

  it('refuses heads two readers could frame differently, naming the problem', () => {
    const cases: [string, string, RegExp][] = [
      ['bare LF', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', /bare LF/],
      ['bare LF in a header', 'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok', /bare LF/],
      ['bare CR', 'HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\nContent-Length: 2\r\n\r\nok', /bare CR/],
      ['duplicate Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', /duplicate Content-Length/],
      ['conflicting Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\nok', /duplicate Content-Length/],
      ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok', /invalid Content-Length/],
      ['a signed Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok', /invalid Content-Length/],
      ['CL with TE', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', /both Content-Length and Transfer-Encoding/],
      ['TE with CL', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n', /both Content-Length and Transfer-Encoding/],
      ['another coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', /other than chunked/],
      ['chunked twice', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /other than chunked/],
      ['TE in HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /HTTP\/1\.0/],
      ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok', /obs-fold/],
      ['space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok', /not name: value/],
      ['a line without a colon', 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n', /not name: value/],
      ['a control character', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok', /control character/],
      ['HTTP/2 status line', 'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok', /not HTTP\/1\.x/],
      ['another protocol', 'ICY 200 OK\r\nContent-Length: 2\r\n\r\nok', /not HTTP\/1\.x/],
      ['a status out of range', 'HTTP/1.1 600 Nope\r\nContent-Length: 2\r\n\r\nok', /not HTTP\/1\.x/],
      ['a status of two digits', 'HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok', /not HTTP\/1\.x/],
      ['a leading empty line', '\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', /not HTTP\/1\.x/],
      ['an unasked-for upgrade', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', /101/],
    ]
    for (const [what, text, message] of cases) {
      for (const pieces of [[text], text.split('')]) expect({ what, refused: refusal(pieces) }).toEqual({ what, refused: expect.stringMatching(message) })
    }
  })

  it('refuses a head over the size limit, even when it never ends', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD)}\r\nContent-Length: 0\r\n\r\n`
    expect(refusal([big])).toMatch(/head over 64 KiB/)
    expect(refusal([`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD / 2)}`, 'a'.repeat(MAX_HEAD / 2 + 10)])).toMatch(/head over 64 KiB/)
  })

  it('refuses invalid chunk framing', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
    const cases: [string, RegExp][] = [
      ['zz\r\nhello\r\n0\r\n\r\n', /invalid chunk size/],
      ['-5\r\nhello\r\n0\r\n\r\n', /invalid chunk size/],
      [' 5\r\nhello\r\n0\r\n\r\n', /invalid chunk size/],
      ['0x5\r\nhello\r\n0\r\n\r\n', /invalid chunk size/],
      ['\r\nhello\r\n0\r\n\r\n', /invalid chunk size/],
      ['fffffffffffffffff\r\nx\r\n0\r\n\r\n', /invalid chunk size/],
      ['20000000000000\r\nx', /invalid chunk size/],
      ['5\nhello\r\n0\r\n\r\n', /bare LF after a chunk size/],
      ['5\r\nhelloXX0\r\n\r\n', /not followed by CRLF/],
      ['5\r\nhello\n0\r\n\r\n', /not followed by CRLF/],
      ['0\r\nX-T: 1\n\r\n', /bare LF in the trailers/],
      [`${'1'.repeat(5000)}`, /chunk-size line too long/],
    ]
    for (const [body, message] of cases) {
      for (const pieces of [[head + body], [head, ...body.split('')]]) expect({ body, refused: refusal(pieces) }).toEqual({ body, refused: expect.stringMatching(message) })
    }
  })

  it('says a response was cut short when the connection closes before it ends', () => {
    const closed = (pieces: string[]) => {
      try {
        read(pieces, { eof: true })
      } catch (err) {
        return { closed: (err as FramingError).closed, message: (err as Error).message }
      }
      return null
    }
    expect(closed([])).toEqual({ closed: true, message: 'the connection closed before any answer' })
    expect(closed(['HTTP/1.1 200 OK\r\nContent'])).toEqual({ closed: true, message: 'the connection closed in the middle of the head' })
    expect(closed(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'])).toEqual({ closed: true, message: 'the connection closed before the body ended' })
    expect(closed(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'])).toEqual({ closed: true, message: 'the connection closed before the body ended' })
  })

  it('reads the next response cleanly after a reset', () => {
    const parser = new ResponseParser()
    const bodies: string[] = []
    const sink: ResponseSink = { whole: (_h, b) => bodies.push(dec.decode(b!)), head() {}, body: (c) => bodies.push(dec.decode(c)), end() {} }
    parser.reset(false)
    expect(() => parser.push(enc.encode('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n'), sink)).toThrow(FramingError)
    parser.reset(false)
    parser.push(enc.encode('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew'), sink)
    expect(bodies).toEqual(['new'])
    expect(parser.done).toBe(true)
  })
})
