/**
 * `npm run soak`: latchkey under steady load for a while, then checked for leaks.
 *   - wrk holds `--connections` (500) keep-alive connections on the authenticated API
 *     (GET /api/remote/status with a Bearer token) from a network-namespace peer;
 *   - a client process in the same namespace holds `--ws` (100) WebSockets and `--sse` (100)
 *     SSE streams through a port-mode app, in front of a test upstream started here
 *     (WebSocket echo, SSE tick every second); each WebSocket sends a message every second.
 * For `--seconds` (60). Criteria: zero errors (wrk non-2xx and socket errors, lost or failed
 * WebSockets and streams, latchkey ERROR lines), RSS growth < 10% between the end of the
 * warm-up and the end of the load (/proc/<pid>/status, a mean over a window each), and
 * latchkey's open file descriptors (/proc/<pid>/fd) back to the starting count after the
 * clients leave. Prints a summary and exits 1 when a criterion fails. Traffic stays on this machine (10.213.x.x, 127.0.0.1).
 *   bun scripts/soak.ts [--seconds 60] [--connections 500] [--ws 100] [--sse 100] [--json out.json]
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, type Peer } from '../test/helpers/netns.ts'
import { BUN, ROOT, startLatchkey, type Latchkey } from '../test/helpers/latchkey.ts'
import { fdCount, fdTargets, freePort, rss, startStreamingUpstream, stopChildren, wrkAsync, type WrkResult } from './bench/lib.ts'

export interface SoakOptions {
  seconds: number
  connections: number
  ws: number
  sse: number
  /** Print progress lines (the CLI does; the test keeps quiet). */
  log?: (line: string) => void
}

/** What the namespace client process reports. */
export interface ClientReport {
  wsOpened: number
  wsSent: number
  wsEchoed: number
  sseOpened: number
  sseEvents: number
  /** The longest silence of any SSE stream, in ms (the upstream ticks every second). */
  sseMaxGapMs: number
  errors: string[]
}

export interface SoakResult {
  seconds: number
  wrk: WrkResult
  clients: ClientReport
  rssMb: { start: number; warm: number; end: number; afterClients: number; peak: number }
  rssGrowth: number
  fds: { start: number; underLoad: number; end: number }
  latchkeyErrors: string[]
  failures: string[]
  ok: boolean
}

const TOKEN = 'soak-token-0123456789abcdefghijklmnop'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Run one soak; never throws for a failed criterion (see `failures`). */
export async function soak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {})
  const peer = createPeer()
  let lk: Latchkey | null = null
  try {
    const upstreamPort = await freePort()
    await startStreamingUpstream(upstreamPort)
    lk = await startLatchkey({
      args: ['--host', peer.hostAddress],
      env: { LATCHKEY_AUTH_TOKEN: TOKEN },
      yaml: `apps:\n  - { name: soak, target: "http://127.0.0.1:${upstreamPort}", port: ${await freePort()} }\n`,
    })
    const pid = lk.proc.pid!
    const host = peer.hostAddress
    const auth = { authorization: `Bearer ${TOKEN}` }
    const apps = (await (await fetch(`http://${host}:${lk.apiPort}/api/apps`, { headers: auth })).json()) as { apps: { port: number }[] }
    const appBase = `${host}:${apps.apps[0].port}`
    const apiUrl = `http://${host}:${lk.apiPort}/api/remote/status`
    // One authenticated request, one proxied stream and socket first, so lazily loaded code is in.
    const probe = await peer.fetch(apiUrl, { headers: auth })
    if (probe.status !== 200) throw new Error(`the namespace peer cannot reach the API: ${probe.status} ${probe.body}`)
    await runClients(peer, appBase, { ws: 1, sse: 1, seconds: 1 })
    // The upstream closes idle keep-alive connections after 3 s: count once they are gone.
    await sleep(4000)
    const fdStart = fdCount(pid)
    const fdsAtStart = fdTargets(pid)
    const rssStart = rss(pid).now
    log(`soak: ${opts.seconds} s, wrk -c${opts.connections} on ${apiUrl} (Bearer), ${opts.ws} WebSockets + ${opts.sse} SSE via ${appBase}, from ${peer.ns} (${peer.peerAddress})`)
    log(`start: RSS ${rssStart.toFixed(1)} MiB, ${fdStart} fds`)

    const load = wrkAsync(peer, apiUrl, { seconds: opts.seconds, connections: opts.connections, headers: [`Authorization: Bearer ${TOKEN}`] })
    const clients = runClients(peer, appBase, { ws: opts.ws, sse: opts.sse, seconds: opts.seconds })
    // RSS is a sawtooth under load (garbage collection): compare the mean of a window right
    // after the warm-up with the mean of the last window, sampling every 250 ms.
    const warmMs = Math.min(10, Math.max(2, Math.round(opts.seconds * 0.2))) * 1000
    const windowMs = Math.min(10_000, (opts.seconds * 1000 - warmMs) / 3)
    const loadMs = opts.seconds * 1000 - 500
    const t0 = Date.now()
    const samples: { at: number; mb: number }[] = []
    let fdUnderLoad = 0
    let nextLog = 10_000
    while (Date.now() - t0 < loadMs) {
      await sleep(250)
      const at = Date.now() - t0
      samples.push({ at, mb: rss(pid).now })
      fdUnderLoad = Math.max(fdUnderLoad, fdCount(pid))
      if (at >= nextLog) {
        log(`  ${String(Math.round(at / 1000)).padStart(3)} s: RSS ${samples.at(-1)!.mb.toFixed(1)} MiB, ${fdCount(pid)} fds`)
        nextLog += 10_000
      }
    }
    const mean = (from: number, to: number) => {
      const w = samples.filter((x) => x.at >= from && x.at <= to)
      return w.reduce((a, x) => a + x.mb, 0) / Math.max(1, w.length)
    }
    const warm = mean(warmMs, warmMs + windowMs)
    const end = mean(loadMs - windowMs, loadMs)
    const [wrkResult, report] = await Promise.all([load, clients])
    // The clients have left: wait (bounded) for latchkey to close what they used.
    let fdEnd = fdCount(pid)
    for (let i = 0; i < 150 && fdEnd > fdStart; i++) {
      await sleep(100)
      fdEnd = fdCount(pid)
    }
    const mem = rss(pid)
    const latchkeyErrors = lk.output().split('\n').filter((l) => /\bERROR\b/.test(l))
    const failures: string[] = []
    const rssGrowth = (end - warm) / warm
    if (wrkResult.errors > 0) failures.push(`wrk: ${wrkResult.errors} errors (non-2xx or socket errors)`)
    if (report.errors.length > 0) failures.push(`clients: ${report.errors.length} errors, first: ${report.errors[0]}`)
    if (report.wsOpened !== opts.ws) failures.push(`WebSockets: ${report.wsOpened}/${opts.ws} opened`)
    if (report.sseOpened !== opts.sse) failures.push(`SSE: ${report.sseOpened}/${opts.sse} opened`)
    if (report.wsEchoed !== report.wsSent) failures.push(`WebSockets: ${report.wsSent - report.wsEchoed} of ${report.wsSent} messages not echoed`)
    if (report.sseMaxGapMs > 3000) failures.push(`SSE: a stream was silent for ${report.sseMaxGapMs} ms`)
    if (latchkeyErrors.length > 0) failures.push(`latchkey logged ${latchkeyErrors.length} errors, first: ${latchkeyErrors[0]}`)
    if (rssGrowth >= 0.1) failures.push(`RSS grew ${(rssGrowth * 100).toFixed(1)}% (mean ${warm.toFixed(1)} -> ${end.toFixed(1)} MiB), limit 10%`)
    if (fdEnd > fdStart) {
      const extra = [...fdTargets(pid)].filter(([fd, target]) => fdsAtStart.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`)
      failures.push(`file descriptors: ${fdEnd} after the clients left, ${fdStart} at the start (new: ${extra.join(', ')})`)
    }
    return {
      seconds: opts.seconds,
      wrk: wrkResult,
      clients: report,
      rssMb: { start: rssStart, warm, end, afterClients: mem.now, peak: mem.peak },
      rssGrowth,
      fds: { start: fdStart, underLoad: fdUnderLoad, end: fdEnd },
      latchkeyErrors,
      failures,
      ok: failures.length === 0,
    }
  } finally {
    await lk?.stop().catch(() => {})
    await stopChildren()
    peer.destroy()
  }
}

/** This file in `--clients` mode inside the namespace; resolves with its report. */
function runClients(peer: Peer, appBase: string, o: { ws: number; sse: number; seconds: number }): Promise<ClientReport> {
  const argv = ['ip', 'netns', 'exec', peer.ns, BUN, join(ROOT, 'scripts', 'soak.ts'), '--clients', appBase, String(o.ws), String(o.sse), String(o.seconds), TOKEN]
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (err += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 30) * 1000)
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as ClientReport)
      } catch {
        reject(new Error(`soak clients failed (${code}):\n${out}\n${err}`))
      }
    })
  })
}

/**
 * The client side, run in the namespace (a real remote peer): `n` WebSockets that send a
 * message every second and expect its echo, `m` SSE streams that expect a tick every second,
 * all for `seconds`; then everything is closed and one JSON line reports what happened.
 */
async function clientMain(appBase: string, n: number, m: number, seconds: number, token: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}` }
  const report: ClientReport = { wsOpened: 0, wsSent: 0, wsEchoed: 0, sseOpened: 0, sseEvents: 0, sseMaxGapMs: 0, errors: [] }
  let ending = false
  const endAt = Date.now() + seconds * 1000
  const sockets: WebSocket[] = []
  const wsDone: Promise<void>[] = []
  const pendings: Set<string>[] = []
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://${appBase}/ws`, { headers } as any)
    sockets.push(ws)
    const pending = new Set<string>()
    pendings.push(pending)
    let seq = 0
    let timer: ReturnType<typeof setInterval> | undefined
    wsDone.push(new Promise<void>((resolve) => {
      ws.onopen = () => {
        report.wsOpened++
        timer = setInterval(() => {
          if (ending || ws.readyState !== WebSocket.OPEN) return
          // A message is owed an echo before the next one goes out.
          if (pending.size > 1) report.errors.push(`ws ${i}: ${pending.size} messages without an echo`)
          const msg = `${i}:${seq++}`
          pending.add(msg)
          report.wsSent++
          ws.send(msg)
        }, 1000)
      }
      ws.onmessage = (e) => {
        if (ending) return
        const msg = String(e.data).replace(/^echo:/, '')
        if (!pending.delete(msg)) report.errors.push(`ws ${i}: unexpected message ${String(e.data).slice(0, 40)}`)
        else report.wsEchoed++
      }
      ws.onerror = () => report.errors.push(`ws ${i}: error`)
      ws.onclose = (e) => {
        clearInterval(timer)
        if (!ending) report.errors.push(`ws ${i}: closed early (${e.code})`)
        resolve()
      }
    }))
  }
  const aborts: AbortController[] = []
  const sseDone: Promise<void>[] = []
  for (let i = 0; i < m; i++) {
    const ac = new AbortController()
    aborts.push(ac)
    sseDone.push((async () => {
      try {
        const res = await fetch(`http://${appBase}/sse`, { headers, signal: ac.signal })
        if (res.status !== 200) {
          report.errors.push(`sse ${i}: status ${res.status}`)
          return
        }
        report.sseOpened++
        let last = Date.now()
        const dec = new TextDecoder()
        const reader = res.body!.getReader()
        for (;;) {
          const { value: chunk, done } = await reader.read()
          if (done) break
          const now = Date.now()
          const ticks = (dec.decode(chunk, { stream: true }).match(/data: tick/g) ?? []).length
          if (ticks) {
            report.sseEvents += ticks
            report.sseMaxGapMs = Math.max(report.sseMaxGapMs, now - last)
            last = now
          }
        }
        if (!ending) report.errors.push(`sse ${i}: ended early`)
      } catch (err) {
        if (!ending) report.errors.push(`sse ${i}: ${(err as Error).message}`)
      }
    })())
  }
  await sleep(Math.max(0, endAt - Date.now()))
  ending = true
  // The last message of each socket may still be on its way back: not a loss (sent < 1 s ago).
  for (const [i, p] of pendings.entries()) {
    if (p.size > 1) report.errors.push(`ws ${i}: ${p.size} messages without an echo at the end`)
    report.wsSent -= p.size
  }
  for (const ws of sockets) ws.close(1000)
  for (const ac of aborts) ac.abort()
  await Promise.race([Promise.all([...wsDone, ...sseDone]), sleep(5000)])
  console.log(JSON.stringify(report))
  process.exit(0)
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  if (argv[0] === '--clients') {
    const [, appBase, n, m, seconds, token] = argv
    await clientMain(appBase, Number(n), Number(m), Number(seconds), token)
  } else {
    const opt = (name: string, def: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : def)
    const seconds = Math.min(600, opt('--seconds', 60))
    const result = await soak({ seconds, connections: opt('--connections', 500), ws: opt('--ws', 100), sse: opt('--sse', 100), log: console.log })
    const r = result
    console.log('\nsummary:')
    console.log(`  API (wrk -c${opt('--connections', 500)})  ${r.wrk.requests} requests, ${r.wrk.rps.toFixed(0)} req/s, p50 ${r.wrk.p50ms.toFixed(2)} ms, p99 ${r.wrk.p99ms.toFixed(2)} ms, ${r.wrk.errors} errors`)
    console.log(`  WebSockets      ${r.clients.wsOpened} open, ${r.clients.wsEchoed}/${r.clients.wsSent} messages echoed`)
    console.log(`  SSE             ${r.clients.sseOpened} open, ${r.clients.sseEvents} events, longest gap ${r.clients.sseMaxGapMs} ms`)
    console.log(`  client errors   ${r.clients.errors.length}; latchkey ERROR lines ${r.latchkeyErrors.length}`)
    console.log(`  RSS             start ${r.rssMb.start.toFixed(1)}, after warm-up ${r.rssMb.warm.toFixed(1)}, end ${r.rssMb.end.toFixed(1)} MiB (window means, ${(r.rssGrowth * 100).toFixed(1)}%, limit 10%), peak ${r.rssMb.peak.toFixed(1)}, after the clients left ${r.rssMb.afterClients.toFixed(1)}`)
    console.log(`  fds             start ${r.fds.start}, under load ${r.fds.underLoad}, after the clients left ${r.fds.end}`)
    console.log(r.ok ? '\nsoak: PASS' : `\nsoak: FAIL\n  ${r.failures.join('\n  ')}`)
    if (argv.includes('--json')) writeFileSync(argv[argv.indexOf('--json') + 1], JSON.stringify(result, null, 2) + '\n')
    process.exit(r.ok ? 0 : 1)
  }
}
