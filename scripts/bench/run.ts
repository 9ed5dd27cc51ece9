/**
 * `npm run bench`: one run, one table. Every load is sent by wrk from a network-namespace
 * peer to this machine's own addresses; each phase lasts --seconds (<= 10). Each latchkey row
 * is also printed as a ratio to its baseline measured in the same run:
 *   raw Bun.serve hello (the ceiling) for latchkey's own routes and assets;
 *   for the proxied app, nginx in front of the same upstream, beside what users would
 *   otherwise pick (HAProxy, Caddy, a Go httputil.ReverseProxy, node http-proxy; peers.ts),
 *   at 64 and 400 connections, every row with its errors; then a 1 GiB body streamed
 *   through each of them against the upstream reached directly.
 * Then cold start, timed two ways (exec to the first 200, exec to the "ready" log line), and
 * idle RSS of the compiled binary, from a fresh and from a used data dir, against a compiled
 * bare Bun.serve hello (the target's baseline), beside a compiled Elysia hello. About 3.5 minutes at 5 s per phase.
 * Results go to a JSON file; `--compare old.json` prints the change per row.
 *   bun scripts/bench/run.ts [--seconds 5] [--json out.json] [--compare old.json] [--no-deno]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { createPeer } from '../../test/helpers/netns.ts'
import { BUN, ROOT, startLatchkey, type Latchkey } from '../../test/helpers/latchkey.ts'
import { coldStart, cpuSeconds, download, freePort, rss, spawnServer, startNginx, stopChildren, workerPid, wrk, type WrkResult } from './lib.ts'
import { availablePeers, startPeer, type PeerName } from './peers.ts'

const argv = process.argv.slice(2)
const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
const seconds = Math.min(10, Number(opt('--seconds') ?? 5))
const jsonOut = resolve(opt('--json') ?? join(ROOT, '.cache', 'bench', 'last.json'))
const compareWith = opt('--compare')
const TOKEN = 'bench-token-0123456789abcdefghij'

interface Row extends Partial<WrkResult> {
  name: string
  /** CPU time of the serving process per request (steadier than req/s on a shared machine). */
  cpuUs?: number
  baseline?: string
  ratio?: number
  peakRssMb?: number
  value?: number
  unit?: string
  /** Cold start rows: exec to the "ready" log line (value is exec to the first 200), and idle RSS. */
  readyMs?: number
  idleRssMb?: number
}
const rows: Row[] = []
const byName = (n: string) => rows.find((r) => r.name === n)!

function print(row: Row): void {
  rows.push(row)
  const cpu = row.cpuUs !== undefined ? `  cpu ${row.cpuUs.toFixed(1).padStart(5)} µs/req` : ''
  const num = row.rps !== undefined ? `${row.rps.toFixed(0).padStart(8)} req/s  p50 ${row.p50ms!.toFixed(2).padStart(6)} ms  p99 ${row.p99ms!.toFixed(2).padStart(6)} ms${cpu}` : `${row.value!.toFixed(1).padStart(8)} ${row.unit}`
  const extra = [
    row.rps !== undefined ? (row.errors ? `ERRORS ${row.errors} (non-2xx ${row.non2xx}, socket ${row.socketErrors}, timeout ${row.timeouts})` : 'errors 0') : '',
    row.readyMs !== undefined ? `ready line ${row.readyMs.toFixed(1)} ms  idle RSS ${row.idleRssMb!.toFixed(1)} MiB` : '',
    row.peakRssMb !== undefined ? `peak RSS ${row.peakRssMb.toFixed(0)} MiB` : '',
    row.baseline ? `${row.ratio!.toFixed(2)}x ${row.baseline}` : '',
  ].filter(Boolean).join('  ')
  console.log(`${row.name.padEnd(38)} ${num}  ${extra}`)
}

function ensureBinary(): string {
  const bin = join(ROOT, 'dist', 'latchkey')
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(join(ROOT, 'src', 'main.ts')).mtimeMs) {
    const r = spawnSync(BUN, [join(ROOT, 'scripts', 'build.ts')], { stdio: 'inherit' })
    if (r.status !== 0) throw new Error('build failed')
  }
  return bin
}

/**
 * The cold-start and memory baselines, compiled with plain `bun build --compile`: a bare
 * Bun.serve hello (the floor for any compiled Bun server) and a bare Elysia hello. Each prints
 * "ready" once listening. 'elysia-bytecode' is also precompiled as latchkey's binary is.
 */
function helloBinary(dir: string, kind: 'bun' | 'elysia' | 'elysia-bytecode'): string {
  const code = kind === 'bun'
    ? `Bun.serve({ hostname: '127.0.0.1', port: Number(process.argv[2]), fetch: () => new Response('hello') })\nconsole.log('ready')\n`
    : `import { Elysia } from 'elysia'\nnew Elysia().get('/', () => 'hello').listen({ hostname: '127.0.0.1', port: Number(process.argv[2]) }, () => console.log('ready'))\n`
  mkdirSync(join(ROOT, '.cache', 'bench'), { recursive: true })
  const src = join(ROOT, '.cache', 'bench', `${kind === 'bun' ? 'bun' : 'elysia'}-hello.ts`)
  writeFileSync(src, code)
  const out = join(dir, `${kind}-hello`)
  const flags = kind === 'elysia-bytecode' ? ['--bytecode', '--format=esm'] : []
  const r = spawnSync(BUN, ['build', '--compile', ...flags, '--minify', src, '--outfile', out], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT })
  if (r.status !== 0) throw new Error(`compiling the ${kind} hello failed`)
  return out
}

const peer = createPeer()
const dir = mkdtempSync(join(tmpdir(), 'lk-bench-'))
const host = peer.hostAddress
const latchkeys: Latchkey[] = []
try {
  const binary = ensureBinary()
  const helloPort = await freePort()
  const upstreamPort = await freePort()
  const nginxPort = await freePort()
  const peerNames = availablePeers()
  const hello = await spawnServer([BUN, '-e', `Bun.serve({ hostname: '${host}', port: ${helloPort}, fetch: () => new Response('hello') }); console.log('up')`], /up/)
  // The upstream answers on loopback (for the proxies) and on the host end (direct): a small
  // answer, or `/big?mb=N` streamed in 1 MiB chunks as the client reads.
  const upstream = `
    const big = new Uint8Array(1024 * 1024).fill(97)
    const fetch = (req) => {
      const u = new URL(req.url)
      if (u.pathname !== '/big') return new Response('hello, world\\n')
      let left = Number(u.searchParams.get('mb') ?? '1024')
      return new Response(new ReadableStream({ pull(c) { if (left-- <= 0) return c.close(); c.enqueue(big) } }, { highWaterMark: 0 }))
    }
    for (const hostname of ['127.0.0.1', '${host}']) Bun.serve({ hostname, port: ${upstreamPort}, idleTimeout: 60, fetch })
    console.log('up')`
  const upstreamServer = await spawnServer([BUN, '-e', upstream], /up/)
  const nginxMaster = startNginx(dir, `${host}:${nginxPort}`, upstreamPort)

  const lk = await startLatchkey({ binary, args: ['--host', host], env: { LATCHKEY_AUTH_TOKEN: TOKEN }, yaml: `apps:\n  - { name: bench, target: "http://127.0.0.1:${upstreamPort}", port: ${await freePort()} }\n` })
  latchkeys.push(lk)
  const base = `http://${host}:${lk.dashboardPort}`
  const api = `http://${host}:${lk.apiPort}`
  const appPort = Number((await (await fetch(`${api}/api/apps`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()).apps[0].port)
  const cookie = (await peer.fetch(`${base}/?token=${TOKEN}`, { headers: { accept: 'text/html' } })).headers.get('set-cookie')!.split(';')[0]
  const page = await peer.fetch(`${base}/`, { headers: { cookie } })
  const asset = /src="(\/assets\/app-[^"]+\.js)"/.exec(page.body)?.[1]
  if (!asset) throw new Error('no dashboard asset found')
  const auth = [`Authorization: Bearer ${TOKEN}`]
  const load = { seconds }
  /** wrk against `url`, with the CPU the process `pid` spent per request. */
  const measure = (pid: number, url: string, opts: { seconds: number; connections?: number; headers?: string[] }): WrkResult & { cpuUs: number } => {
    const before = cpuSeconds(pid)
    const r = wrk(peer, url, opts)
    return { ...r, cpuUs: ((cpuSeconds(pid) - before) * 1e6) / (r.requests || 1) }
  }
  const lkPid = lk.proc.pid!
  console.log(`latchkey bench: wrk -t2 -c64 (the app proxy also -c400), ${seconds} s per phase, from ${peer.ns} (${peer.peerAddress}) to ${host}`)

  const ceiling = measure(hello.pid!, `http://${host}:${helloPort}/`, load)
  print({ name: 'raw Bun.serve hello (ceiling)', ...ceiling })
  const vsCeiling = (name: string, r: WrkResult) => print({ name, ...r, peakRssMb: rss(lk.proc.pid!).peak, baseline: 'vs ceiling', ratio: r.rps / ceiling.rps })
  vsCeiling('latchkey GET /api/health', measure(lkPid, `${api}/api/health`, load))
  const status = measure(lkPid, `${api}/api/remote/status`, { ...load, headers: auth })
  vsCeiling('latchkey /api/remote/status Bearer', status)
  vsCeiling('latchkey /api/remote/status cookie', measure(lkPid, `${api}/api/remote/status`, { ...load, headers: [`Cookie: ${cookie}`] }))
  // Two floors under the hello ceiling, to tell latchkey's own cost from what the answer
  // costs: raw Bun.serve sending the status route's exact bytes and headers, and the same
  // with the least any token check must do (peer address, Authorization header, SHA-256 and a
  // constant-time compare).
  const sample = await fetch(`${api}/api/remote/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
  const statusFile = join(dir, 'status.json')
  writeFileSync(statusFile, JSON.stringify({ body: await sample.text(), headers: [...sample.headers].filter(([k]) => k !== 'date' && k !== 'content-length') }))
  const floorServer = (guard: boolean) => `
    const { body, headers } = JSON.parse(await Bun.file('${statusFile}').text())
    const { createHash, timingSafeEqual } = await import('node:crypto')
    const want = createHash('sha256').update('${TOKEN}').digest()
    Bun.serve({ hostname: '${host}', port: Number(process.argv[1]), fetch(req, srv) {
      ${guard ? `srv.requestIP(req)
      const m = /^Bearer\\s+(\\S+)$/i.exec(req.headers.get('authorization') ?? '')
      if (!m || !timingSafeEqual(createHash('sha256').update(m[1]).digest(), want)) return new Response('no', { status: 401 })` : ''}
      return new Response(body, { headers })
    } })
    console.log('up')`
  for (const [name, guard] of [['raw Bun.serve, status bytes', false], ['raw Bun.serve, status bytes + check', true]] as const) {
    const port = await freePort()
    const server = await spawnServer([BUN, '-e', floorServer(guard), String(port)], /up/)
    const floor = measure(server.pid!, `http://${host}:${port}/`, { ...load, headers: auth })
    print({ name, ...floor, baseline: 'vs ceiling', ratio: floor.rps / ceiling.rps })
    print({ name: `  latchkey status vs this floor`, value: status.rps / floor.rps, unit: 'x' })
  }
  // A static file's fair baseline is raw Bun.serve answering with the same bytes.
  // The same bytes with the same response headers (wrk asks for no compression, nor do we here).
  const assetFile = join(dir, 'asset.js')
  const assetRes = await fetch(`${base}${asset}`, { headers: { 'accept-encoding': 'identity' } })
  const assetHeaders = JSON.stringify([...assetRes.headers].filter(([k]) => k !== 'date' && k !== 'content-length'))
  writeFileSync(assetFile, new Uint8Array(await assetRes.arrayBuffer()))
  const rawAssetPort = await freePort()
  const rawAssetServer = await spawnServer([BUN, '-e', `const b = await Bun.file('${assetFile}').bytes(); const headers = ${assetHeaders}; Bun.serve({ hostname: '${host}', port: ${rawAssetPort}, fetch: () => new Response(b, { headers }) }); console.log('up')`], /up/)
  const rawAsset = measure(rawAssetServer.pid!, `http://${host}:${rawAssetPort}/`, load)
  print({ name: 'raw Bun.serve same asset+headers', ...rawAsset })
  const served = measure(lkPid, `${base}${asset}`, load)
  print({ name: 'latchkey static dashboard asset', ...served, peakRssMb: rss(lk.proc.pid!).peak, baseline: 'vs raw asset', ratio: served.rps / rawAsset.rps })

  // The app proxy beside the proxies users would otherwise pick, all in front of the same
  // upstream on 127.0.0.1; each row's CPU is the proxy process's own (nginx: its one worker).
  // What Bun's own HTTP client allows: a bare fetch proxy with no guard, logging or rewriting.
  const bareProxyPort = await freePort()
  const bareServer = await spawnServer([BUN, '-e', `Bun.serve({ hostname: '${host}', port: ${bareProxyPort}, idleTimeout: 60, fetch(r) { const u = new URL(r.url); return fetch('http://127.0.0.1:${upstreamPort}' + u.pathname + u.search) } }); console.log('up')`], /up/)
  const peerLabels: Record<PeerName, string> = { haproxy: 'HAProxy (nbthread 1)', caddy: 'Caddy reverse_proxy', go: 'Go httputil.ReverseProxy', node: 'node http-proxy' }
  const proxies: { label: string; port: number; pid: number; headers?: string[] }[] = [
    { label: 'nginx proxy (1 worker)', port: nginxPort, pid: workerPid(nginxMaster.pid!) },
    { label: 'latchkey proxied app', port: appPort, pid: lkPid, headers: auth },
  ]
  for (const name of peerNames) {
    const port = await freePort()
    proxies.push({ label: peerLabels[name], port, pid: (await startPeer(name, dir, host, port, upstreamPort)).pid! })
  }
  proxies.push({ label: 'bare Bun fetch proxy', port: bareProxyPort, pid: bareServer.pid! })
  for (const connections of [64, 400]) {
    console.log(`\napp proxy, wrk -t2 -c${connections}, ratios vs nginx:`)
    const opts = { ...load, connections }
    print({ name: `upstream direct c=${connections}`, ...measure(upstreamServer.pid!, `http://${host}:${upstreamPort}/`, opts) })
    const viaProxy = (p: (typeof proxies)[number]) => measure(p.pid, `http://${host}:${p.port}/`, { ...opts, headers: p.headers })
    const [nginxProxy, ...others] = proxies
    const nginx = viaProxy(nginxProxy)
    print({ name: `${nginxProxy.label} c=${connections}`, ...nginx })
    for (const p of others) {
      const r = viaProxy(p)
      print({ name: `${p.label} c=${connections}`, ...r, ...(p.pid === lkPid && { peakRssMb: rss(lkPid).peak }), baseline: 'vs nginx', ratio: r.rps / nginx.rps })
    }
  }

  console.log('\n1 GiB streamed through each proxy (curl from the namespace), ratios vs direct:')
  const big = (port: number, headers?: string[]) => download(peer, `http://${host}:${port}/big?mb=1024`, 1024 ** 3, headers)
  const streamDirect = big(upstreamPort)
  print({ name: 'stream: upstream direct', value: streamDirect, unit: 'MiB/s' })
  for (const p of proxies) {
    const mib = big(p.port, p.headers)
    print({ name: `stream: ${p.label}`, value: mib, unit: 'MiB/s', baseline: 'vs direct', ratio: mib / streamDirect })
  }
  await lk.stop()

  if (!argv.includes('--no-deno')) {
    console.log('\nunder Deno (deno run src/main.ts), ratios vs the Bun ceiling:')
    try {
      const dk = await startLatchkey({ runtime: 'deno', args: ['--host', host, '--no-tui'], env: { LATCHKEY_AUTH_TOKEN: TOKEN } })
      latchkeys.push(dk)
      const dapi = `http://${host}:${dk.apiPort}`
      const row = (name: string, r: WrkResult) => print({ name, ...r, peakRssMb: rss(dk.proc.pid!).peak, baseline: 'vs ceiling', ratio: r.rps / ceiling.rps })
      row('deno: latchkey GET /api/health', measure(dk.proc.pid!, `${dapi}/api/health`, load))
      row('deno: /api/remote/status Bearer', measure(dk.proc.pid!, `${dapi}/api/remote/status`, { ...load, headers: auth }))
      await dk.stop()
    } catch (err) {
      console.log(`deno rows skipped: ${(err as Error).message.split('\n')[0]}`)
    }
  }

  // Cold start and idle memory of the compiled binary against compiled hellos, timed two
  // ways (lib.ts coldStart): exec to the first 200, and exec to the "ready" log line. Seven
  // starts each, the median kept: one start is too noisy on a shared machine.
  const hellos = { bun: helloBinary(dir, 'bun'), elysia: helloBinary(dir, 'elysia'), bytecode: helloBinary(dir, 'elysia-bytecode') }
  console.log('\ncold start, median of 7: exec to the first 200 (ratios), exec to the "ready" line, idle RSS after 1.5 s:')
  type Start = { startMs: number; readyMs: number; idleRssMb: number }
  const median = async (start: () => Promise<Start>): Promise<Start> => {
    const runs: Start[] = []
    for (let i = 0; i < 7; i++) runs.push(await start())
    const mid = (key: keyof Start) => runs.map((r) => r[key]).sort((a, b) => a - b)[3]
    return { startMs: mid('startMs'), readyMs: mid('readyMs'), idleRssMb: mid('idleRssMb') }
  }
  const helloStart = (bin: string) => median(async () => {
    const port = await freePort()
    return coldStart([bin, String(port)], `http://127.0.0.1:${port}/`, /ready/)
  })
  const bunHello = await helloStart(hellos.bun)
  const elysiaHello = await helloStart(hellos.elysia)
  const bytecodeHello = await helloStart(hellos.bytecode)
  // latchkey at --log-level info, which prints its "ready" line: first from a fresh data dir
  // per start (a first start ever), then from one data dir all its starts share (every start
  // after that; the last fresh one, so it has been used from the first counted start).
  let data = ''
  const latchkeyStart = (dataDir: () => string) => median(async () => {
    const port = await freePort()
    return coldStart([binary, '--data-dir', dataDir(), '--port', String(port), '--api-port', '0', '--no-tui', '--log-level', 'info'], `http://127.0.0.1:${port}/api/health`, /INFO\s+ready/)
  })
  const fresh = await latchkeyStart(() => (data = mkdtempSync(join(dir, 'data-'))))
  const used = await latchkeyStart(() => data)
  const startRow = (name: string, r: Start, vs?: [string, Start]) => print({ name, value: r.startMs, unit: 'ms', readyMs: r.readyMs, idleRssMb: r.idleRssMb, ...(vs && { baseline: `vs ${vs[0]}`, ratio: r.startMs / vs[1].startMs }) })
  startRow('compiled Bun.serve hello start', bunHello)
  startRow('compiled Elysia hello start', elysiaHello, ['Bun.serve hello', bunHello])
  startRow('  Elysia hello, --bytecode', bytecodeHello, ['Bun.serve hello', bunHello])
  // Issue 19's target is the bare Bun.serve hello: any compiled Bun server pays that much.
  startRow('latchkey start, fresh data dir', fresh, ['Bun.serve hello', bunHello])
  startRow('latchkey start, used data dir', used, ['Bun.serve hello', bunHello])

  const ratio = (name: string) => byName(name).ratio!.toFixed(2)
  const errorRows = rows.filter((r) => r.errors)
  console.log('\ntargets:')
  // Issue 19's targets. Rows a missing peer did not produce are left out of the comparisons.
  const row = (n: string) => rows.find((r) => r.name === n)
  const rps = (n: string) => row(n)?.rps ?? 0
  const pickedPeers = ['Caddy reverse_proxy', 'Go httputil.ReverseProxy', 'node http-proxy']
  const ahead = (c: number) => pickedPeers.filter((p) => row(`${p} c=${c}`)).every((p) => rps(`latchkey proxied app c=${c}`) > rps(`${p} c=${c}`))
  const streams = rows.filter((r) => r.name.startsWith('stream: ') && r.name !== 'stream: upstream direct' && r.name !== 'stream: latchkey proxied app' && r.name !== 'stream: bare Bun fetch proxy')
  const bestPeer = streams.reduce((best, r) => (r.value! > (best?.value ?? 0) ? r : best), undefined as Row | undefined)
  const lkStream = row('stream: latchkey proxied app')?.value ?? 0
  console.log(`  guarded API vs token-check floor     ${(rps('latchkey /api/remote/status Bearer') / rps('raw Bun.serve, status bytes + check')).toFixed(2)}x (target >= 0.85x)`)
  console.log(`  proxied app vs nginx                 c=64 ${ratio('latchkey proxied app c=64')}x, c=400 ${ratio('latchkey proxied app c=400')}x (target >= 0.75x); ahead of Caddy, Go and node http-proxy: c=64 ${ahead(64) ? 'yes' : 'NO'}, c=400 ${ahead(400) ? 'yes' : 'NO'}`)
  console.log(`  1 GiB stream                         ${lkStream.toFixed(0)} MiB/s, best peer ${bestPeer ? `${bestPeer.name.slice(8)} ${bestPeer.value!.toFixed(0)} MiB/s` : 'none'} (target: at or above the best peer)`)
  console.log(`  cold start vs Bun.serve hello        fresh ${(fresh.startMs / bunHello.startMs).toFixed(2)}x, used ${(used.startMs / bunHello.startMs).toFixed(2)}x (target <= 1.5x; "ready" line fresh ${(fresh.readyMs / bunHello.readyMs).toFixed(2)}x, used ${(used.readyMs / bunHello.readyMs).toFixed(2)}x)`)
  console.log(`  idle RSS vs Bun.serve hello          fresh ${(fresh.idleRssMb / bunHello.idleRssMb).toFixed(2)}x, used ${(used.idleRssMb / bunHello.idleRssMb).toFixed(2)}x (target <= 1.5x)`)
  console.log(`  errors                               ${errorRows.length ? errorRows.map((r) => `${r.name}: ${r.errors}`).join(', ') : 'none'} (target: none)`)

  mkdirSync(join(jsonOut, '..'), { recursive: true })
  writeFileSync(jsonOut, JSON.stringify({ at: new Date().toISOString(), seconds, rows }, null, 2) + '\n')
  console.log(`\nresults: ${jsonOut}`)
  if (compareWith) {
    const old = JSON.parse(readFileSync(compareWith, 'utf8')) as { rows: Row[] }
    console.log(`\nchange against ${compareWith}:`)
    for (const r of rows) {
      const o = old.rows.find((x) => x.name === r.name)
      if (!o) continue
      const [now, was] = r.rps !== undefined ? [r.rps, o.rps!] : [r.value!, o.value!]
      console.log(`  ${r.name.padEnd(38)} ${((now / was - 1) * 100).toFixed(1).padStart(6)}%`)
    }
  }
} finally {
  for (const l of latchkeys) await l.stop().catch(() => {})
  await stopChildren()
  peer.destroy()
  rmSync(dir, { recursive: true, force: true })
}
