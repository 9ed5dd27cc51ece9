/**
 * Shared pieces of the benchmarks: a namespace peer that sends the load (traffic stays on
 * this machine: 127.0.0.1 and 10.213.x.x only), wrk runs and their parsing, child servers,
 * nginx with a throwaway config, and process memory readings.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import type { Peer } from '../../test/helpers/netns.ts'

export interface WrkResult {
  rps: number
  p50ms: number
  p99ms: number
  /** Non-2xx/3xx responses, socket errors and timeouts. */
  errors: number
  non2xx: number
  /** connect + read + write errors wrk reports. */
  socketErrors: number
  /** Requests unanswered after wrk's 2 s timeout. */
  timeouts: number
  /** Requests completed in the phase. */
  requests?: number
}

const children: ChildProcess[] = []

/** A port that was free a moment ago (for servers whose port must be known in advance). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

function ms(value: string, unit: string): number {
  return Number(value) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1)
}

/** wrk from inside the peer's namespace: `seconds` <= 10, keep-alive connections. */
export function wrk(peer: Peer, url: string, opts: { seconds: number; connections?: number; headers?: string[] }): WrkResult {
  const seconds = Math.min(10, opts.seconds)
  const r = spawnSync('ip', wrkArgs(peer, url, { ...opts, seconds }), { encoding: 'utf8', timeout: (seconds + 30) * 1000 })
  return parseWrk(url, r.stdout ?? '', r.stderr ?? '')
}

/**
 * wrk without blocking the event loop, for a long phase (the soak: up to 600 s) during which
 * the caller samples memory and descriptors. Bounded: wrk stops itself after `seconds`, and is
 * killed 30 s later if it has not.
 */
export function wrkAsync(peer: Peer, url: string, opts: { seconds: number; connections?: number; threads?: number; headers?: string[] }): Promise<WrkResult> {
  const seconds = Math.min(600, opts.seconds)
  const child = spawn('ip', wrkArgs(peer, url, { ...opts, seconds }), { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d))
  child.stderr!.on('data', (d: Buffer) => (err += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000)
  return new Promise((resolve, reject) => {
    child.on('close', () => {
      clearTimeout(timer)
      try {
        resolve(parseWrk(url, out, err))
      } catch (e) {
        reject(e)
      }
    })
  })
}

function wrkArgs(peer: Peer, url: string, opts: { seconds: number; connections?: number; threads?: number; headers?: string[] }): string[] {
  const threads = opts.threads ?? 2
  return ['netns', 'exec', peer.ns, 'wrk', `-t${threads}`, `-c${opts.connections ?? 64}`, `-d${opts.seconds}s`, '--latency', ...(opts.headers ?? []).flatMap((h) => ['-H', h]), url]
}

/** Requests/s, p50/p99 and errors (non-2xx/3xx, socket errors, timeouts) from wrk's report. */
function parseWrk(url: string, out: string, stderr: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(out)
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const socketErrors = sockErr ? sockErr.slice(1, 4).reduce((a, b) => a + Number(b), 0) : 0
  const timeouts = Number(sockErr?.[4] ?? 0)
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  if (!rps) throw new Error(`wrk ${url} failed:\n${out}\n${stderr}`)
  return { rps, p50ms: p50 ? ms(p50[1], p50[2]) : NaN, p99ms: p99 ? ms(p99[1], p99[2]) : NaN, errors: non2xx + socketErrors + timeouts, non2xx, socketErrors, timeouts, requests }
}

/** Have `stopChildren` kill a child started elsewhere. */
export function track(child: ChildProcess): void {
  children.push(child)
}

/**
 * MiB/s of one download from inside the peer's namespace with curl, discarding the body;
 * throws unless exactly `bytes` arrived.
 */
export function download(peer: Peer, url: string, bytes: number, headers: string[] = []): number {
  const args = ['netns', 'exec', peer.ns, 'curl', '-sS', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', ...headers.flatMap((h) => ['-H', h]), url]
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 300_000 })
  const [speed, size] = (r.stdout ?? '').trim().split(' ').map(Number)
  if (size !== bytes) throw new Error(`download of ${url} got ${size} of ${bytes} bytes: ${r.stderr}`)
  return speed / (1024 * 1024)
}

/** Start a child and wait for `ready` on its stdout. It is killed by `stopChildren`. */
export async function spawnServer(cmd: string[], ready: RegExp, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.push(child)
  let out = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not start:\n${out}`)), 20000)
    const on = (d: Buffer) => {
      out += d
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', on)
    child.stderr!.on('data', on)
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited (${code}):\n${out}`)))
  })
  return child
}

export async function stopChildren(): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  children.length = 0
}

/** nginx (Debian's) with one worker proxying to 127.0.0.1:upstreamPort with keepalive. */
export function startNginx(dir: string, listen: string, upstreamPort: number): ChildProcess {
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
  return child
}

/** Resident memory of a process in MiB (current, and peak since it started). */
export function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0)
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** CPU time (user + system, all threads) a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The (single) worker of an nginx master started by startNginx, once it has forked. */
export function workerPid(masterPid: number): number {
  for (let i = 0; i < 50; i++) {
    const out = spawnSync('pgrep', ['-P', String(masterPid)], { encoding: 'utf8' }).stdout.trim()
    if (out) return Number(out.split('\n')[0])
    spawnSync('sleep', ['0.05'])
  }
  throw new Error(`nginx ${masterPid} has no worker`)
}

/**
 * One start of a server, timed two ways from exec: to the first 200 on `url` (polled every
 * 2 ms: when a client is first served), and to the first output matching `ready` (when the
 * server says it is listening). Then its RSS after `idleMs` of idling.
 */
export async function coldStart(cmd: string[], url: string, ready: RegExp, idleMs = 1500): Promise<{ startMs: number; readyMs: number; idleRssMb: number }> {
  const t0 = performance.now()
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  let readyMs = NaN
  const onData = (d: Buffer) => {
    if (!Number.isNaN(readyMs)) return
    out += d
    if (ready.test(out)) readyMs = performance.now() - t0
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.status === 200) break
    } catch {}
    if (performance.now() - t0 > 20000) throw new Error(`${cmd[0]} never answered ${url}:\n${out}`)
    await new Promise((r) => setTimeout(r, 2))
  }
  const startMs = performance.now() - t0
  await new Promise((r) => setTimeout(r, idleMs))
  if (Number.isNaN(readyMs)) throw new Error(`${cmd[0]} printed nothing matching ${ready}:\n${out}`)
  const idleRssMb = rss(child.pid!).now
  // Wait for the exit: the next start may reuse the same data dir (and its lock).
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
  return { startMs, readyMs, idleRssMb }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/**
 * What each open descriptor of a process points at: a path, "anon_inode:[eventfd]", or for a
 * TCP socket "tcp 127.0.0.1:4000 -> 127.0.0.1:5000 ESTABLISHED" (from /proc/<pid>/net/tcp).
 */
export function fdTargets(pid: number): Map<string, string> {
  const tcp = new Map<string, string>()
  const states: Record<string, string> = { '01': 'ESTABLISHED', '06': 'TIME_WAIT', '08': 'CLOSE_WAIT', '0A': 'LISTEN' }
  const addr = (hex: string) => {
    const [ip, port] = hex.split(':')
    const v4 = ip.length === 8 ? ip.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join('.') : `[${ip}]`
    return `${v4}:${parseInt(port, 16)}`
  }
  for (const file of ['tcp', 'tcp6']) {
    try {
      for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/)
        if (f.length > 9) tcp.set(f[9], `tcp ${addr(f[1])} -> ${addr(f[2])} ${states[f[3]] ?? f[3]}`)
      }
    } catch {}
  }
  const out = new Map<string, string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      out.set(fd, (inode && tcp.get(inode)) || target)
    } catch {}
  }
  return out
}

/**
 * A streaming upstream in its own process, on 127.0.0.1:`port`: `/ws` echoes every WebSocket
 * message as `echo:<text>`, `/sse` sends `data: tick <n>` every `tickMs` until the client
 * leaves, anything else answers "hello". It closes HTTP connections idle for 3 s, as servers
 * do, so a proxy's idle keep-alive connections to it end and its descriptors can be counted.
 * Killed by `stopChildren`.
 */
export function startStreamingUpstream(port: number, tickMs = 1000): Promise<ChildProcess> {
  const code = `
    const enc = new TextEncoder()
    Bun.serve({ hostname: '127.0.0.1', port: ${port}, idleTimeout: 3,
      fetch(req, srv) {
        const path = new URL(req.url).pathname
        if (path === '/ws') return srv.upgrade(req) ? undefined : new Response('expected websocket', { status: 400 })
        if (path === '/sse') {
          srv.timeout(req, 0)
          let timer, n = 0
          return new Response(new ReadableStream({
            start(c) {
              c.enqueue(enc.encode(': open\\n\\n'))
              timer = setInterval(() => { try { c.enqueue(enc.encode('data: tick ' + n++ + '\\n\\n')) } catch { clearInterval(timer) } }, ${tickMs})
            },
            cancel() { clearInterval(timer) },
          }), { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } })
        }
        return new Response('hello')
      },
      websocket: { message(ws, m) { ws.send('echo:' + m) } },
    })
    console.log('up')`
  return spawnServer([process.execPath, '-e', code], /up/)
}
