/**
 * Long polls and quiet streams through the app proxy (the real-apps issue, item 2): an app
 * may stay silent well past nginx's 60 s `proxy_read_timeout` default (Syncthing's event
 * long-poll waits up to 60 s), in port mode and in path mode; each app may set its own
 * bound; and a response the app cuts short never reaches the client as a complete one. The
 * upstream is raw TCP, so a test can send exactly the bytes (and the silences) it needs;
 * the client is curl in a network-namespace peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createServer, type Server, type Socket } from 'node:net'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, type Peer } from '../../helpers/netns.ts'
import { appPort, execIn } from './peer-tools.ts'

let upstream: Server
let upstreamPort = 0
let lk: Latchkey
let peer: Peer
let longPort = 0
let shortPort = 0

/** What the raw upstream does for each path: the head, then body parts with silences between. */
function serve(socket: Socket, path: string): void {
  const url = new URL(path, 'http://x')
  const wait = Number(url.searchParams.get('ms') ?? 0)
  const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`
  switch (url.pathname.replace(/^\/apps\/[a-z]+/, '')) {
    case '/late':
      // A long poll: nothing at all until the event comes.
      setTimeout(() => socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n[{"id":1}]\r\n'), wait)
      return
    case '/quiet':
      // A stream that says something, stays quiet, then ends.
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n${chunk('first ')}`)
      setTimeout(() => socket.end(`${chunk('last')}0\r\n\r\n`), wait)
      return
    case '/cut-length':
      // Promises 100 bytes, sends 50, and dies.
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n${'x'.repeat(50)}`)
      setTimeout(() => socket.destroy(), 200)
      return
    case '/cut-chunked':
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n${chunk('x'.repeat(50))}`)
      setTimeout(() => socket.destroy(), 200)
      return
    default:
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
  }
}

beforeAll(async () => {
  upstream = createServer((socket) => {
    let head = ''
    socket.on('data', (d) => {
      head += d.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      serve(socket, head.split(' ')[1])
      head = head.slice(end + 4)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  upstreamPort = (upstream.address() as { port: number }).port
  peer = createPeer()
  const target = `http://127.0.0.1:${upstreamPort}`
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0'],
    yaml: [
      'apps:',
      `  - { name: long, target: "${target}", port: 0 }`,
      `  - { name: inpath, target: "${target}" }`,
      `  - { name: short, target: "${target}", port: 0, timeout: 2 }`,
      '',
    ].join('\n'),
  })
  longPort = await appPort(lk, 'long')
  shortPort = await appPort(lk, 'short')
}, 30_000)

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  upstream?.close()
})

/** curl from the peer with the token: its exit code (0: a complete response), status, body and time. */
async function get(url: string, maxSeconds = 90) {
  const started = performance.now()
  const r = await execIn(peer.ns, ['curl', '-sS', '--http1.1', '--max-time', String(maxSeconds), '-H', `Authorization: Bearer ${lk.token}`, '-o', '-', '-w', '\n%{http_code}', url], { timeoutMs: (maxSeconds + 5) * 1000 })
  const cut = r.stdout.lastIndexOf('\n')
  return { exit: r.status, status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut), seconds: (performance.now() - started) / 1000, stderr: r.stderr }
}

describe('a silent app, by default', () => {
  it('answers a long poll that stays silent 35 s, and a stream quiet for 35 s, in port and path mode', async () => {
    const host = peer.hostAddress
    const [portPoll, pathPoll, portStream, pathStream] = await Promise.all([
      get(`http://${host}:${longPort}/late?ms=35000`),
      get(`http://${host}:${lk.dashboardPort}/apps/inpath/late?ms=35000`),
      get(`http://${host}:${longPort}/quiet?ms=35000`),
      get(`http://${host}:${lk.dashboardPort}/apps/inpath/quiet?ms=35000`),
    ])
    for (const poll of [portPoll, pathPoll]) {
      expect({ exit: poll.exit, status: poll.status, body: poll.body.trim() }).toEqual({ exit: 0, status: 200, body: '[{"id":1}]' })
      expect(poll.seconds).toBeGreaterThan(34)
    }
    for (const stream of [portStream, pathStream]) expect({ exit: stream.exit, status: stream.status, body: stream.body }).toEqual({ exit: 0, status: 200, body: 'first last' })
  }, 60_000)
})

describe('an app with its own timeout', () => {
  it('answers 502 once the app has said nothing for its timeout', async () => {
    const r = await get(`http://${peer.hostAddress}:${shortPort}/late?ms=6000`)
    expect(r.status).toBe(502)
    expect(r.body).toContain('did not answer within 2 s')
    expect(r.seconds).toBeLessThan(5)
  }, 20_000)

  it('cuts a response whose body goes silent past the timeout, never ending it as if complete', async () => {
    // Note: Bun's socket idle timers tick every few seconds, so the cut comes a few seconds
    // after the bound, not on it; what matters is that it comes, and is a cut.
    const r = await get(`http://${peer.hostAddress}:${shortPort}/quiet?ms=20000`)
    expect(r.exit).not.toBe(0)
    expect(r.body).not.toContain('last')
    expect(r.seconds).toBeLessThan(15)
  }, 30_000)
})

describe('a response the app cuts short', () => {
  for (const path of ['/cut-length', '/cut-chunked']) {
    it(`never reaches the client as a complete response: ${path}`, async () => {
      for (const url of [`http://${peer.hostAddress}:${longPort}${path}`, `http://${peer.hostAddress}:${lk.dashboardPort}/apps/inpath${path}`]) {
        const r = await get(url, 10)
        // curl says 18 (partial file) or 56 (receive failure): anything but a clean 0.
        expect({ url, complete: r.exit === 0 }).toEqual({ url, complete: false })
      }
    }, 30_000)
  }
})
