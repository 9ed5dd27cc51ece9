/**
 * Proxy benchmark, all in one run from a namespace peer (a real remote client):
 *   small responses: requests/s and p99 with wrk, the upstream directly vs through latchkey
 *   vs through nginx (Debian's, one worker, upstream keepalive) in front of the same upstream;
 *   streaming: throughput of a 1 GB body with curl, directly vs through latchkey.
 * Prints each number and the ratios (targets: latchkey >= 1.0x nginx on small responses,
 * streaming >= 0.8x direct). Run as root: `bun scripts/bench/proxy.ts [--seconds 8]`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer } from '../../test/helpers/netns.ts'
import { BUN, startLatchkey } from '../../test/helpers/latchkey.ts'

const seconds = Math.min(10, Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 8)
const connections = 64
const children: ChildProcess[] = []
const peer = createPeer()
const dir = mkdtempSync(join(tmpdir(), 'lk-bench-'))

function freePort(): number {
  const s = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const p = s.port!
  s.stop(true)
  return p
}

/** The upstream: its own process, on every interface so the peer can reach it directly. */
async function startUpstream(port: number): Promise<void> {
  const code = `
    const big = new Uint8Array(1024 * 1024).fill(97)
    Bun.serve({ hostname: '0.0.0.0', port: ${port}, idleTimeout: 60, fetch(req) {
      const u = new URL(req.url)
      if (u.pathname === '/big') {
        let left = Number(u.searchParams.get('mb') ?? '1024')
        return new Response(new ReadableStream({ pull(c) { if (left-- <= 0) return c.close(); c.enqueue(big) } }, { highWaterMark: 0 }))
      }
      return new Response('hello, world\\n', { headers: { 'content-type': 'text/plain' } })
    } })
    console.log('up')`
  const child = spawn(BUN, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  await new Promise<void>((r) => child.stdout!.once('data', () => r()))
}

function startNginx(listen: string, upstreamPort: number): void {
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen ${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_buffering off;
    }
  }
}
`)
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'inherit' })
  children.push(child)
}

interface WrkResult { rps: number; p99ms: number }

function wrk(url: string, headers: string[] = []): WrkResult {
  const args = ['netns', 'exec', peer.ns, 'wrk', '-t2', `-c${connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url]
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: (seconds + 20) * 1000 })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0)
  const m = /99%\s+([\d.]+)(us|ms|s)/.exec(r.stdout)
  const p99ms = m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : NaN
  if (!rps) console.error(r.stdout, r.stderr)
  return { rps, p99ms }
}

function download(url: string, headers: string[] = []): number {
  const args = ['netns', 'exec', peer.ns, 'curl', '-sS', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', ...headers.flatMap((h) => ['-H', h]), url]
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 120_000 })
  const [speed, size] = r.stdout.trim().split(' ').map(Number)
  if (size !== 1024 * 1024 * 1024) throw new Error(`download of ${url} got ${size} bytes: ${r.stderr}`)
  return speed / (1024 * 1024)
}

const upstreamPort = freePort()
const nginxPort = freePort()
let lk: Awaited<ReturnType<typeof startLatchkey>> | null = null
try {
  await startUpstream(upstreamPort)
  startNginx(`${peer.hostAddress}:${nginxPort}`, upstreamPort)
  lk = await startLatchkey({ args: ['--host', '0.0.0.0'], yaml: `apps:\n  - { name: bench, target: "http://127.0.0.1:${upstreamPort}", port: 0 }\n` })
  const token = lk.token
  const appPort = Number((await fetch(lk.url('/api/apps', 'api')).then((r) => r.json())).apps[0].listener.port)
  const auth = [`Authorization: Bearer ${token}`]
  const host = peer.hostAddress
  await Bun.sleep(300)

  console.log(`wrk: ${connections} connections, ${seconds} s per phase, from namespace ${peer.ns} (${peer.peerAddress})`)
  const direct = wrk(`http://${host}:${upstreamPort}/`)
  const viaLatchkey = wrk(`http://${host}:${appPort}/`, auth)
  const viaNginx = wrk(`http://${host}:${nginxPort}/`, auth)
  const row = (name: string, r: WrkResult) => console.log(`${name.padEnd(10)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${r.p99ms.toFixed(2)} ms`)
  row('direct', direct)
  row('latchkey', viaLatchkey)
  row('nginx', viaNginx)

  const streamDirect = download(`http://${host}:${upstreamPort}/big?mb=1024`)
  const streamLatchkey = download(`http://${host}:${appPort}/big?mb=1024`, auth)
  console.log(`1 GB stream: direct ${streamDirect.toFixed(0)} MB/s, latchkey ${streamLatchkey.toFixed(0)} MB/s`)

  console.log('ratios:')
  console.log(`  latchkey / nginx req/s     ${(viaLatchkey.rps / viaNginx.rps).toFixed(2)}x (target >= 1.0x)`)
  console.log(`  latchkey / direct req/s    ${(viaLatchkey.rps / direct.rps).toFixed(2)}x`)
  console.log(`  nginx / direct req/s       ${(viaNginx.rps / direct.rps).toFixed(2)}x`)
  console.log(`  p99 latchkey / nginx       ${(viaLatchkey.p99ms / viaNginx.p99ms).toFixed(2)}x`)
  console.log(`  stream latchkey / direct   ${(streamLatchkey / streamDirect).toFixed(2)}x (target >= 0.8x)`)
} finally {
  await lk?.stop()
  for (const c of children) c.kill('SIGTERM')
  await Bun.sleep(200)
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  peer.destroy()
  rmSync(dir, { recursive: true, force: true })
}
