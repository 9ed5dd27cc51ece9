/**
 * The pooled upstream client against real TCP upstreams on 127.0.0.1 (node:net, so each
 * test sends exactly the bytes and closes it needs): connections reused, bounded, closed
 * when idle, a reused connection that dies retried once for idempotent requests only,
 * refused, silent and cut-short apps told apart.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { createServer, type Server, type Socket } from 'node:net'
import { runtime } from '../../../src/runtime/index.ts'
import { Deadlines } from '../../../src/apps/deadlines.ts'
import { sendPooled, type PooledRequest } from '../../../src/apps/upstream-client.ts'
import { UpstreamPool, type PoolLimits } from '../../../src/apps/upstream-pool.ts'
import { UpstreamError } from '../../../src/apps/upstream-error.ts'

interface Upstream {
  port: number
  /** Connections accepted, and the request lines each received. */
  connections: string[][]
  closed: number
}

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** A raw upstream: `answer(path, socket, index)` writes each response (index: the request's place on its connection). */
async function upstream(answer: (path: string, socket: Socket, index: number) => void): Promise<Upstream> {
  const up: Upstream = { port: 0, connections: [], closed: 0 }
  const server = createServer((socket) => {
    const lines: string[] = []
    up.connections.push(lines)
    let buffered = ''
    socket.on('data', (d) => {
      buffered += d.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0)
        if (buffered.length < end + 4 + length) return
        buffered = buffered.slice(end + 4 + length)
        lines.push(head.split('\r\n')[0])
        answer(head.split(' ')[1], socket, lines.length - 1)
      }
    })
    socket.on('close', () => up.closed++)
    socket.on('error', () => {})
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  up.port = (server.address() as { port: number }).port
  return up
}

const ok = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`

function pool(port: number, limits: Partial<PoolLimits> = {}): UpstreamPool {
  return new UpstreamPool(`127.0.0.1:${port}`, (events) => runtime.connect!('127.0.0.1', port, events), { maxTotal: 16, maxIdle: 16, idleMs: 1000, ...limits })
}

const waiting = new Deadlines(20)

function send(p: UpstreamPool, target: string, init: Partial<PooledRequest> = {}): Promise<Response> {
  return sendPooled(p, { method: 'GET', target, headers: new Headers({ 'x-test': '1' }), body: null, timeoutMs: 5000, clientGone: () => false, ...init }, waiting)
}

async function failure(promise: Promise<unknown>): Promise<{ kind: string; message: string } | null> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError)
    return { kind: (err as UpstreamError).kind, message: (err as Error).message }
  }
  return null
}

describe('UpstreamPool', () => {
  it('sends every request on one kept-alive connection when they come one at a time', async () => {
    const up = await upstream((path, s) => s.write(ok(`answer ${path}`)))
    const p = pool(up.port)
    for (let i = 0; i < 5; i++) expect(await (await send(p, `/r${i}?q=${i}`)).text()).toBe(`answer /r${i}?q=${i}`)
    expect(up.connections).toEqual([['GET /r0?q=0 HTTP/1.1', 'GET /r1?q=1 HTTP/1.1', 'GET /r2?q=2 HTTP/1.1', 'GET /r3?q=3 HTTP/1.1', 'GET /r4?q=4 HTTP/1.1']])
    expect(p.stats).toEqual({ open: 1, idle: 1, waiting: 0 })
  })

  it('opens no more than maxTotal connections: the other requests wait for one', async () => {
    const up = await upstream((path, s) => setTimeout(() => s.write(ok(path)), 30))
    const p = pool(up.port, { maxTotal: 2 })
    const answers = await Promise.all(Array.from({ length: 7 }, (_, i) => send(p, `/${i}`).then((r) => r.text())))
    expect(answers).toEqual(['/0', '/1', '/2', '/3', '/4', '/5', '/6'])
    expect(up.connections.length).toBe(2)
    expect(p.stats).toEqual({ open: 2, idle: 2, waiting: 0 })
  })

  it('closes connections left idle for idleMs', async () => {
    const up = await upstream((path, s) => s.write(ok(path)))
    const p = pool(up.port, { idleMs: 100 })
    await (await send(p, '/a')).text()
    expect(p.stats.open).toBe(1)
    await Bun.sleep(400)
    expect(p.stats).toEqual({ open: 0, idle: 0, waiting: 0 })
    expect(up.closed).toBe(1)
  })

  it('retries an idempotent request once on a new connection when a reused one dies as it goes out', async () => {
    // The app answers the first request on each connection, and closes on the second (as an app
    // closing an idle keep-alive connection would, just as the request arrived).
    const up = await upstream((path, s, index) => (index === 0 ? s.write(ok(path)) : s.destroy()))
    const p = pool(up.port)
    expect(await (await send(p, '/first')).text()).toBe('/first')
    expect(await (await send(p, '/again', { method: 'GET' })).text()).toBe('/again')
    expect(up.connections.map((c) => c.length)).toEqual([2, 1])
    // Not a POST: it may have been acted on.
    expect(await failure(send(p, '/post', { method: 'POST', body: new TextEncoder().encode('x') }))).toEqual({ kind: 'failed', message: 'the connection to the app failed (the connection closed before any answer)' })
    expect(up.connections.map((c) => c.length)).toEqual([2, 2])
  })

  it('never reuses a connection that carried bytes after a response, nor one the app asked to close', async () => {
    const up = await upstream((path, s) => s.write(path === '/extra' ? `${ok('x')}junk` : path === '/close' ? 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nc' : ok('y')))
    const p = pool(up.port)
    expect(await (await send(p, '/extra')).text()).toBe('x')
    expect(await (await send(p, '/close')).text()).toBe('c')
    expect(await (await send(p, '/plain')).text()).toBe('y')
    expect(up.connections).toEqual([['GET /extra HTTP/1.1'], ['GET /close HTTP/1.1'], ['GET /plain HTTP/1.1']])
  })

  it('sends the body with its length, and an empty POST with a zero length', async () => {
    const heads: string[] = []
    const up = await upstream((path, s) => s.write(ok(path)))
    const server = servers.at(-1)!
    server.on('connection', (s: Socket) => s.on('data', (d) => heads.push(d.toString('latin1'))))
    const p = pool(up.port)
    await (await send(p, '/a', { method: 'PUT', body: new TextEncoder().encode('héllo'), headers: new Headers({ 'content-length': '999', 'x-name': 'v' }) })).text()
    await (await send(p, '/b', { method: 'POST' })).text()
    await (await send(p, '/c', { method: 'GET', headers: new Headers({ 'content-length': '5' }) })).text()
    const all = heads.join('')
    expect(all).toContain('PUT /a HTTP/1.1\r\nhost: 127.0.0.1:')
    expect(all).toContain('x-name: v\r\ncontent-length: 6\r\n\r\nh\xc3\xa9llo')
    expect(all).not.toContain('999')
    expect(all).toContain('POST /b HTTP/1.1\r\nhost: 127.0.0.1:' + up.port + '\r\nx-test: 1\r\ncontent-length: 0\r\n\r\n')
    expect(all).toContain('GET /c HTTP/1.1\r\nhost: 127.0.0.1:' + up.port + '\r\n\r\n')
  })

  it('tells a refused connection, a silent app and a response cut short apart', async () => {
    const free = await upstream(() => {})
    servers.pop()!.close()
    await Bun.sleep(20)
    expect(await failure(send(pool(free.port), '/'))).toEqual({ kind: 'refused', message: "nothing is listening at the app's address" })
    const silent = await upstream(() => {})
    expect(await failure(send(pool(silent.port), '/', { timeoutMs: 600 }))).toEqual({ kind: 'timeout', message: 'the app did not answer within 1 s' })
    const cut = await upstream((_, s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))
    const res = await send(pool(cut.port), '/')
    expect(res.status).toBe(200)
    expect(await failure(res.text())).toEqual({ kind: 'failed', message: 'the connection to the app failed (the connection closed before the body ended)' })
  })

  it('streams a body that keeps coming, and stops reading the app while the reader is behind', async () => {
    let socket: Socket | null = null
    const up = await upstream((_, s) => {
      socket = s
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
    })
    const p = pool(up.port)
    const res = await send(p, '/stream')
    const reader = res.body!.getReader()
    const chunk = 'x'.repeat(64 * 1024)
    const count = 1024
    // 64 MiB, far more than the stream and the kernel's buffers hold: the writes back up in
    // the app once latchkey stops reading.
    for (let i = 0; i < count; i++) socket!.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
    await Bun.sleep(300)
    expect(socket!.writableLength).toBeGreaterThan(32 * 1024 * 1024)
    let read = 0
    while (read < count * chunk.length) {
      const { value, done } = await reader.read()
      if (done) break
      read += value.length
    }
    socket!.end('0\r\n\r\n')
    expect(read).toBe(count * chunk.length)
    expect((await reader.read()).done).toBe(true)
  })
})
