/**
 * Proxy benchmark alone (npm run bench covers it too, among the other rows): requests/s and
 * p99 of the upstream directly, through latchkey, through nginx (Debian's, one worker,
 * upstream keepalive) and through a bare Bun `fetch` proxy (the floor for any Bun proxy),
 * from a namespace peer, with each server's CPU time per request (steadier than req/s on a
 * shared machine); then a 1 GB body streamed directly vs through latchkey and the bare proxy.
 * Targets: latchkey >= 1.0x nginx on small responses, streaming >= 0.8x direct.
 *   bun scripts/bench/proxy.ts [--seconds 8]
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer, type Peer } from '../../test/helpers/netns.ts'
import { BUN, startLatchkey, type Latchkey } from '../../test/helpers/latchkey.ts'
import { cpuSeconds, freePort, spawnServer, startNginx, stopChildren, workerPid, wrk, type WrkResult } from './lib.ts'

const seconds = Math.min(10, Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 8)

/** MB/s of a 1 GiB download from inside the namespace. */
function download(peer: Peer, url: string, headers: string[] = []): number {
  const args = ['netns', 'exec', peer.ns, 'curl', '-sS', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', ...headers.flatMap((h) => ['-H', h]), url]
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 120_000 })
  const [speed, size] = r.stdout.trim().split(' ').map(Number)
  if (size !== 1024 * 1024 * 1024) throw new Error(`download of ${url} got ${size} bytes: ${r.stderr}`)
  return speed / (1024 * 1024)
}

const peer = createPeer()
const dir = mkdtempSync(join(tmpdir(), 'lk-bench-'))
let lk: Latchkey | null = null
try {
  const host = peer.hostAddress
  const upstreamPort = await freePort()
  const nginxPort = await freePort()
  const barePort = await freePort()
  // The upstream answers on loopback (for latchkey and nginx) and on the host end (direct).
  const upstream = await spawnServer([BUN, '-e', `
    const big = new Uint8Array(1024 * 1024).fill(97)
    const fetch = (req) => {
      const u = new URL(req.url)
      if (u.pathname !== '/big') return new Response('hello, world\\n', { headers: { 'content-type': 'text/plain' } })
      let left = Number(u.searchParams.get('mb') ?? '1024')
      return new Response(new ReadableStream({ pull(c) { if (left-- <= 0) return c.close(); c.enqueue(big) } }, { highWaterMark: 0 }))
    }
    for (const hostname of ['127.0.0.1', '${host}']) Bun.serve({ hostname, port: ${upstreamPort}, idleTimeout: 60, fetch })
    console.log('up')`], /up/)
  // The least a Bun proxy can do: fetch the app and hand its response back unchanged.
  const bare = await spawnServer([BUN, '-e', `
    Bun.serve({ hostname: '${host}', port: ${barePort}, idleTimeout: 60, fetch(req) {
      const u = new URL(req.url)
      return fetch('http://127.0.0.1:${upstreamPort}' + u.pathname + u.search, { method: req.method, headers: req.headers, redirect: 'manual', decompress: false })
    } })
    console.log('up')`], /up/)
  const nginx = startNginx(dir, `${host}:${nginxPort}`, upstreamPort)
  lk = await startLatchkey({ args: ['--host', host], env: { LATCHKEY_AUTH_TOKEN: 'bench-token-0123456789abcdefghij' }, yaml: `apps:\n  - { name: bench, target: "http://127.0.0.1:${upstreamPort}", port: ${await freePort()} }\n` })
  const auth = ['Authorization: Bearer bench-token-0123456789abcdefghij']
  const apps = await (await fetch(`http://${host}:${lk.apiPort}/api/apps`, { headers: { authorization: auth[0].split(': ')[1] } })).json()
  const appPort = Number(apps.apps[0].port)

  console.log(`wrk: 64 connections, ${seconds} s per phase, from namespace ${peer.ns} (${peer.peerAddress})`)
  /** One wrk phase, with the CPU the server under test used per request. */
  const phase = (url: string, pid: number, headers: string[] = []) => {
    const before = cpuSeconds(pid)
    const r = wrk(peer, url, { seconds, headers })
    return { ...r, cpuUs: ((cpuSeconds(pid) - before) * 1e6) / (r.requests || 1) }
  }
  const direct = phase(`http://${host}:${upstreamPort}/`, upstream.pid!)
  const viaLatchkey = phase(`http://${host}:${appPort}/`, lk.proc.pid!, auth)
  const viaNginx = phase(`http://${host}:${nginxPort}/`, workerPid(nginx.pid!))
  const viaBare = phase(`http://${host}:${barePort}/`, bare.pid!)
  const row = (name: string, r: WrkResult & { cpuUs: number }) => console.log(`${name.padEnd(10)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${r.p99ms.toFixed(2)} ms   cpu ${r.cpuUs.toFixed(1)} µs/req`)
  row('direct', direct)
  row('latchkey', viaLatchkey)
  row('nginx', viaNginx)
  row('bun fetch', viaBare)

  const streamDirect = download(peer, `http://${host}:${upstreamPort}/big?mb=1024`)
  const streamLatchkey = download(peer, `http://${host}:${appPort}/big?mb=1024`, auth)
  const streamBare = download(peer, `http://${host}:${barePort}/big?mb=1024`)
  console.log(`1 GB stream: direct ${streamDirect.toFixed(0)} MB/s, latchkey ${streamLatchkey.toFixed(0)} MB/s, bun fetch ${streamBare.toFixed(0)} MB/s`)
  console.log('ratios:')
  console.log(`  latchkey / nginx req/s     ${(viaLatchkey.rps / viaNginx.rps).toFixed(2)}x (target >= 1.0x)`)
  console.log(`  latchkey / bun fetch req/s ${(viaLatchkey.rps / viaBare.rps).toFixed(2)}x`)
  console.log(`  latchkey / direct req/s    ${(viaLatchkey.rps / direct.rps).toFixed(2)}x`)
  console.log(`  nginx / direct req/s       ${(viaNginx.rps / direct.rps).toFixed(2)}x`)
  console.log(`  p99 latchkey / nginx       ${(viaLatchkey.p99ms / viaNginx.p99ms).toFixed(2)}x`)
  console.log(`  stream latchkey / direct   ${(streamLatchkey / streamDirect).toFixed(2)}x (target >= 0.8x)`)
  console.log(`  stream bun fetch / direct  ${(streamBare / streamDirect).toFixed(2)}x`)
} finally {
  await lk?.stop()
  await stopChildren()
  peer.destroy()
  rmSync(dir, { recursive: true, force: true })
}
