/**
 * An app whose responses two readers could frame differently never gets one past latchkey,
 * and never shifts a response onto the next request: a bare LF, a duplicate Content-Length,
 * Content-Length with Transfer-Encoding, an invalid chunk size, obs-fold, a status line
 * that is not HTTP/1.x or an oversized head is a 502; a response followed by a second one
 * is passed on, and its connection is never used again. The upstream is raw TCP that keeps
 * every connection open after misbehaving (so a proxy that reused it would read the
 * leftovers as the next answer); the client is curl in a network-namespace peer, sending
 * two requests on one connection to a real app listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createServer, type Server, type Socket } from 'node:net'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { createPeer, type Peer } from '../helpers/netns.ts'
import { appPort, execIn } from '../integration/apps/peer-tools.ts'

const SMUGGLED = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled'

/** What the upstream answers per path: bytes two readers could frame differently, leftovers after them. */
const ANSWERS: Record<string, string> = {
  '/bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 8\n\nbare-lf!',
  '/duplicate-length': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nfirst' + SMUGGLED,
  '/conflicting-length': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 64\r\n\r\nfirst' + SMUGGLED,
  '/length-and-chunked': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + SMUGGLED,
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5z\r\nfirst\r\n0\r\n\r\n' + SMUGGLED,
  '/obs-fold': 'HTTP/1.1 200 OK\r\nX-Folded: a\r\n Content-Length: 0\r\nContent-Length: 5\r\n\r\nfirst' + SMUGGLED,
  '/not-http1': 'HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nfirst',
  '/huge-head': `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 5\r\n\r\nfirst`,
}

let upstream: Server
let lk: Latchkey
let peer: Peer
let port = 0
/** Paths in the order each upstream connection received them. */
const connections: string[][] = []

beforeAll(async () => {
  upstream = createServer((socket: Socket) => {
    const paths: string[] = []
    connections.push(paths)
    let buffered = ''
    socket.on('data', (d) => {
      buffered += d.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const path = buffered.split(' ')[1]
        buffered = buffered.slice(end + 4)
        paths.push(path)
        if (path === '/') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nup')
        else if (path === '/two-responses') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst' + SMUGGLED)
        else socket.write(ANSWERS[path] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nnext-answer')
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  peer = createPeer()
  lk = await startLatchkey({ args: ['--host', '0.0.0.0'], yaml: `apps:\n  - { name: raw, target: "http://127.0.0.1:${(upstream.address() as { port: number }).port}", port: 0 }\n` })
  port = await appPort(lk, 'raw')
}, 30_000)

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  upstream?.close()
})

/** Two GETs from the peer on one keep-alive connection: each answer's status, body and whether it took a new connection. */
async function twoOnOneConnection(first: string, second: string) {
  const url = (path: string) => `http://${peer.hostAddress}:${port}${path}`
  const r = await execIn(peer.ns, ['curl', '-sS', '--http1.1', '--max-time', '10', '-H', `Authorization: Bearer ${lk.token}`, '-H', 'Accept: application/json', '-w', '\n@@%{http_code} %{num_connects}@@\n', url(first), url(second)])
  const answers = [...r.stdout.matchAll(/([^]*?)\n@@(\d+) (\d+)@@\n/g)].map((m) => ({ status: Number(m[2]), body: m[1], newConnection: m[3] !== '0' }))
  return { exit: r.status, answers }
}

describe('an app that sends malformed or ambiguous responses', () => {
  for (const path of Object.keys(ANSWERS)) {
    it(`gets a 502 for ${path}, and the next request on the same client connection gets its own answer`, async () => {
      const { exit, answers } = await twoOnOneConnection(path, '/next')
      expect(exit).toBe(0)
      expect(answers.length).toBe(2)
      expect(answers[0].status).toBe(502)
      expect(JSON.parse(answers[0].body)).toMatchObject({ error: 'app_unreachable', message: expect.stringContaining('malformed response') })
      expect(answers[1]).toEqual({ status: 200, body: 'next-answer', newConnection: false })
      // latchkey never sent another request on the connection that carried the bad answer.
      const carrier = connections.find((c) => c.includes(path))!
      expect(carrier.at(-1)).toBe(path)
    })
  }

  it('passes on a response followed by a second one, and never reads the second as the next answer', async () => {
    const { answers } = await twoOnOneConnection('/two-responses', '/next')
    expect(answers).toEqual([
      { status: 200, body: 'first', newConnection: true },
      { status: 200, body: 'next-answer', newConnection: false },
    ])
    const carrier = connections.find((c) => c.includes('/two-responses'))!
    expect(carrier.at(-1)).toBe('/two-responses')
  })

  it('reuses a connection whose answers were well framed', async () => {
    const { answers } = await twoOnOneConnection('/next', '/next')
    expect(answers.map((a) => a.body)).toEqual(['next-answer', 'next-answer'])
    expect(connections.some((c) => c.filter((p) => p === '/next').length >= 2)).toBe(true)
  })
})
