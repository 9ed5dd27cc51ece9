/**
 * A real webhook receiver for tests: an HTTP server on 127.0.0.1, port 0, that records each
 * request (headers and raw body) and answers with whatever the test scripts: a status per
 * request in turn, or a hold (no answer until `release()`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  method: string
  path: string
  headers: Record<string, string>
  body: string
  at: number
}

export interface Receiver {
  url: string
  received: Received[]
  /** Answer the next requests with these statuses, in turn (then 200). */
  script(statuses: number[]): void
  /** Hold every request until release(). */
  hold(): void
  release(): void
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const received: Received[] = []
  let statuses: number[] = []
  let holding = false
  let held: (() => void)[] = []
  const waiters = new Set<() => void>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v)
      received.push({ method: req.method ?? '', path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() })
      for (const w of [...waiters]) w()
      const answer = () => {
        res.statusCode = statuses.shift() ?? 200
        res.end('ok')
      }
      if (holding) held.push(answer)
      else answer()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    script: (s) => void (statuses = [...s]),
    hold: () => void (holding = true),
    release() {
      holding = false
      const h = held
      held = []
      for (const a of h) a()
    },
    waitFor(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= n) {
            clearTimeout(timer)
            waiters.delete(check)
            resolve(received)
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`receiver got ${received.length} of ${n} requests`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    async close() {
      holding = false
      for (const a of held) a()
      held = []
      server.closeAllConnections?.()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
