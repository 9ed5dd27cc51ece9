/**
 * A path-mode app only ever sees paths under its prefix, in forms every reader agrees on:
 * encoded slashes, encoded or raw backslashes and dot segments that could leave the prefix
 * once the app (or anything in front of it) decodes them are refused with a 400, on Bun and
 * on Deno. The upstream is a raw TCP server, so it records the request line exactly as sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createServer, type Server } from 'node:net'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { rawHttp } from '../helpers/raw-http.ts'

/** Forms no runtime rewrites: they reach latchkey as sent, and the app would decode them. */
const ENCODED = ['/apps/x/..%2fsecret', '/apps/x/..%2Fsecret', '/apps/x/%2fsecret', '/apps/x/a/%2e%2e%2f%2e%2e%2fsecret', '/apps/x/..%5csecret', '/apps/x/%5Csecret', '/apps/x/%2E%2E%5Csecret']
/** Forms Bun resolves before latchkey sees them (as a browser would); Deno hands them over as sent. */
const RESOLVABLE = ['/apps/x/%2e%2e/x/secret', '/apps/x/.%2e/x/secret', '/apps/x/%2E%2E/x/secret', '/apps/x/a/%2e%2e/secret', '/apps/x/a/.%2E/secret', '/apps/x/%2e/secret', '/apps/x/a\\..\\secret', '/apps/x/a\\secret', '/apps/x/%2e%2e/secret', '/apps/x/..\\secret']
const ORDINARY = ['/apps/x/a%20b', '/apps/x/%41%42', '/apps/x/file.tar.gz', '/apps/x/.well-known/x', '/apps/x/a..b', '/apps/x/q?next=..%2f%5c']

/** An upstream that records each request target as it arrived (but latchkey's health checks of /) and answers 200. */
function rawUpstream(): Promise<{ server: Server; port: number; seen: string[] }> {
  const seen: string[] = []
  const server = createServer((socket) => {
    let head = ''
    socket.on('data', (d) => {
      head += d.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      const target = head.split(' ')[1]
      if (target !== '/') seen.push(target)
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')
    })
    socket.on('error', () => {})
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, seen })))
}

for (const runtime of ['bun', 'deno'] as const) {
  describe(`path-mode app paths on ${runtime}`, () => {
    let up: Awaited<ReturnType<typeof rawUpstream>>
    let lk: Latchkey
    const get = (path: string, accept = 'application/json') =>
      rawHttp(lk.dashboardPort, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${lk.dashboardPort}\r\nAccept: ${accept}\r\nConnection: close\r\n\r\n`)
    const body = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4)

    beforeAll(async () => {
      up = await rawUpstream()
      lk = await startLatchkey({ runtime, args: ['--host', '127.0.0.1'], yaml: `apps:\n  - { name: x, target: "http://127.0.0.1:${up.port}", path: /apps/x }\n` })
    }, 60_000)
    afterAll(async () => {
      await lk?.stop()
      up?.server.close()
    })

    it('refuses encoded slashes and backslashes with a 400 naming the problem, forwarding nothing', async () => {
      up.seen.length = 0
      const bad: string[] = []
      for (const path of ENCODED) {
        const res = await get(path)
        const json = JSON.parse(body(res.raw) || 'null')
        if (res.status !== 400 || json?.error !== 'bad_path' || !/^Cannot open this address: its path has an encoded (slash \(%2F\)|backslash \(%5C\))/.test(json.message)) bad.push(`${path} → ${res.status} ${body(res.raw)}`)
        const page = await get(path, 'text/html')
        if (page.status !== 400 || !/content-type: text\/html/i.test(page.raw) || !page.raw.includes('Cannot open this address: its path has an encoded')) bad.push(`${path} (navigation) → ${page.status}`)
      }
      expect(bad).toEqual([])
      expect(up.seen).toEqual([])
    })

    it('never forwards a dot segment or a backslash, whichever runtime resolves them', async () => {
      up.seen.length = 0
      const bad: string[] = []
      for (const path of RESOLVABLE) {
        const res = await get(path)
        // Bun resolves the path first (it is then an ordinary one, or outside the app: 404);
        // Deno passes it as sent, and latchkey refuses it.
        const ok = runtime === 'deno' ? res.status === 400 || res.status === 404 : [200, 404].includes(res.status)
        if (!ok) bad.push(`${path} → ${res.status} ${body(res.raw).slice(0, 120)}`)
        if (res.status === 400 && !body(res.raw).includes('Cannot open this address: its path has a')) bad.push(`${path} → 400 without the reason`)
      }
      expect(bad).toEqual([])
      for (const seen of up.seen) {
        expect(seen).toStartWith('/apps/x/')
        expect(seen).not.toMatch(/\\|%2e|%2f|%5c|\/\.\.?(\/|$)/i)
      }
      if (runtime === 'deno') expect(up.seen).toEqual([])
    })

    it('forwards ordinary paths, escapes included, exactly as sent', async () => {
      up.seen.length = 0
      for (const path of ORDINARY) expect((await get(path)).status).toBe(200)
      expect(up.seen).toEqual(ORDINARY)
    })
  })
}
