/**
 * `npm run bench`: one run, one table. Every load is sent by wrk from a network-namespace
 * peer to this machine's own addresses; each phase lasts --seconds (<= 10). Each latchkey row
 * is also printed as a ratio to its baseline measured in the same run:
 *   raw Bun.serve hello (the ceiling) for latchkey's own routes and assets,
 *   the upstream reached directly for the proxied app, and nginx in front of it.
 * Then the compiled binary's cold start and idle RSS against a compiled bare Elysia hello.
 * Results go to a JSON file; `--compare old.json` prints the change per row.
 *   bun scripts/bench/run.ts [--seconds 5] [--json out.json] [--compare old.json] [--no-deno]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { createPeer } from '../../test/helpers/netns.ts'
import { BUN, ROOT, startLatchkey, type Latchkey } from '../../test/helpers/latchkey.ts'
import { coldStart, cpuSeconds, freePort, rss, spawnServer, startNginx, stopChildren, workerPid, wrk, type WrkResult } from './lib.ts'

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
}
const rows: Row[] = []
const byName = (n: string) => rows.find((r) => r.name === n)!

function print(row: Row): void {
  rows.push(row)
  const cpu = row.cpuUs !== undefined ? `  cpu ${row.cpuUs.toFixed(1).padStart(5)} µs/req` : ''
  const num = row.rps !== undefined ? `${row.rps.toFixed(0).padStart(8)} req/s  p50 ${row.p50ms!.toFixed(2).padStart(6)} ms  p99 ${row.p99ms!.toFixed(2).padStart(6)} ms${cpu}` : `${row.value!.toFixed(1).padStart(8)} ${row.unit}`
  const extra = [row.peakRssMb !== undefined ? `peak RSS ${row.peakRssMb.toFixed(0)} MiB` : '', row.errors ? `ERRORS ${row.errors}` : '', row.baseline ? `${row.ratio!.toFixed(2)}x ${row.baseline}` : ''].filter(Boolean).join('  ')
  console.log(`${row.name.padEnd(34)} ${num}  ${extra}`)
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
 * A compiled bare Elysia hello: the cold-start and memory baseline (plain `bun build
 * --compile`). With `bytecode`, also precompiled as latchkey's own binary is, for reference.
 */
function bareElysiaBinary(dir: string, bytecode = false): string {
  const src = join(ROOT, '.cache', 'bench', 'elysia-hello.ts')
  mkdirSync(join(ROOT, '.cache', 'bench'), { recursive: true })
  writeFileSync(src, `import { Elysia } from 'elysia'\nnew Elysia().get('/', () => 'hello').listen({ hostname: '127.0.0.1', port: Number(process.argv[2]) })\n`)
  const out = join(dir, bytecode ? 'elysia-hello-bytecode' : 'elysia-hello')
  const flags = bytecode ? ['--bytecode', '--format=esm'] : []
  const r = spawnSync(BUN, ['build', '--compile', ...flags, '--minify', src, '--outfile', out], { stdio: 'inherit', cwd: ROOT })
  if (r.status !== 0) throw new Error('compiling the Elysia hello failed')
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
  const hello = await spawnServer([BUN, '-e', `Bun.serve({ hostname: '${host}', port: ${helloPort}, fetch: () => new Response('hello') }); console.log('up')`], /up/)
  // The upstream answers on loopback (for latchkey and nginx) and on the host end (direct).
  const upstream = `const h = () => new Response('hello, world\\n'); for (const hostname of ['127.0.0.1', '${host}']) Bun.serve({ hostname, port: ${upstreamPort}, fetch: h }); console.log('up')`
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
  const measure = (pid: number, url: string, opts: { seconds: number; headers?: string[] }): WrkResult & { cpuUs: number } => {
    const before = cpuSeconds(pid)
    const r = wrk(peer, url, opts)
    return { ...r, cpuUs: ((cpuSeconds(pid) - before) * 1e6) / (r.requests || 1) }
  }
  const lkPid = lk.proc.pid!
  console.log(`latchkey bench: wrk -t2 -c64, ${seconds} s per phase, from ${peer.ns} (${peer.peerAddress}) to ${host}`)

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

  const direct = measure(upstreamServer.pid!, `http://${host}:${upstreamPort}/`, load)
  print({ name: 'upstream direct', ...direct })
  const proxied = measure(lkPid, `http://${host}:${appPort}/`, { ...load, headers: auth })
  print({ name: 'latchkey proxied app', ...proxied, peakRssMb: rss(lk.proc.pid!).peak, baseline: 'vs direct', ratio: proxied.rps / direct.rps })
  const nginx = measure(workerPid(nginxMaster.pid!), `http://${host}:${nginxPort}/`, load)
  print({ name: 'nginx proxy', ...nginx, baseline: 'vs direct', ratio: nginx.rps / direct.rps })
  // What Bun's own HTTP client allows: a bare fetch proxy with no guard, logging or rewriting.
  const bareProxyPort = await freePort()
  const bareServer = await spawnServer([BUN, '-e', `Bun.serve({ hostname: '${host}', port: ${bareProxyPort}, fetch: (r) => fetch('http://127.0.0.1:${upstreamPort}' + new URL(r.url).pathname) }); console.log('up')`], /up/)
  const bare = measure(bareServer.pid!, `http://${host}:${bareProxyPort}/`, load)
  print({ name: 'bare Bun fetch proxy', ...bare, baseline: 'vs direct', ratio: bare.rps / direct.rps })
  print({ name: 'latchkey proxied vs bare Bun proxy', value: proxied.rps / bare.rps, unit: 'x' })
  print({ name: 'latchkey proxied vs nginx', value: proxied.rps / nginx.rps, unit: 'x' })
  await lk.stop()

  if (!argv.includes('--no-deno')) {
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

  // Cold start and idle memory of the compiled binary vs a compiled bare Elysia hello.
  const elysia = bareElysiaBinary(dir)
  // Five starts each, the median kept: one start is too noisy on a shared machine.
  const median = async (start: () => Promise<{ startMs: number; idleRssMb: number }>) => {
    const runs = []
    for (let i = 0; i < 5; i++) runs.push(await start())
    const mid = (xs: number[]) => xs.sort((a, b) => a - b)[2]
    return { startMs: mid(runs.map((r) => r.startMs)), idleRssMb: mid(runs.map((r) => r.idleRssMb)) }
  }
  const helloStart = (bin: string) => median(async () => {
    const ePort = await freePort()
    return coldStart([bin, String(ePort)], `http://127.0.0.1:${ePort}/`)
  })
  const bareStart = await helloStart(elysia)
  const bytecodeStart = await helloStart(bareElysiaBinary(dir, true))
  // A data dir that has been used: what every start but the first finds.
  const data = mkdtempSync(join(dir, 'data-'))
  const ours = await median(async () => {
    const lPort = await freePort()
    return coldStart([binary, '--data-dir', data, '--port', String(lPort), '--api-port', '0', '--no-tui', '--log-level', 'warn'], `http://127.0.0.1:${lPort}/api/health`)
  })
  print({ name: 'compiled Elysia hello cold start', value: bareStart.startMs, unit: 'ms' })
  print({ name: 'latchkey binary cold start', value: ours.startMs, unit: 'ms', baseline: 'vs Elysia hello', ratio: ours.startMs / bareStart.startMs })
  print({ name: '  Elysia hello, --bytecode', value: bytecodeStart.startMs, unit: 'ms' })
  print({ name: '  latchkey vs bytecode hello', value: ours.startMs / bytecodeStart.startMs, unit: 'x' })
  print({ name: 'compiled Elysia hello idle RSS', value: bareStart.idleRssMb, unit: 'MiB' })
  print({ name: 'latchkey binary idle RSS', value: ours.idleRssMb, unit: 'MiB', baseline: 'vs Elysia hello', ratio: ours.idleRssMb / bareStart.idleRssMb })

  const statusRatio = byName('latchkey /api/remote/status Bearer').ratio!
  console.log('\ntargets:')
  const checkFloor = byName('raw Bun.serve, status bytes + check').ratio!
  console.log(`  authenticated API vs raw Bun.serve   ${statusRatio.toFixed(2)}x (target >= 0.85x; raw Bun.serve doing only the token check: ${checkFloor.toFixed(2)}x)`)
  console.log(`  proxied app vs nginx                 ${(proxied.rps / nginx.rps).toFixed(2)}x (target >= 1.0x; a bare Bun fetch proxy: ${(bare.rps / nginx.rps).toFixed(2)}x)`)
  console.log(`  cold start vs Elysia hello           ${(ours.startMs / bareStart.startMs).toFixed(2)}x (target <= 1.5x)`)
  console.log(`  idle RSS vs Elysia hello             ${(ours.idleRssMb / bareStart.idleRssMb).toFixed(2)}x (target <= 1.5x)`)

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
      console.log(`  ${r.name.padEnd(34)} ${((now / was - 1) * 100).toFixed(1).padStart(6)}%`)
    }
  }
} finally {
  for (const l of latchkeys) await l.stop().catch(() => {})
  await stopChildren()
  peer.destroy()
  rmSync(dir, { recursive: true, force: true })
}
