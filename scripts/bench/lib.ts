/**
 * Shared pieces of the benchmarks: a namespace peer that sends the load (traffic stays on
 * this machine: 127.0.0.1 and 10.213.x.x only), wrk runs and their parsing, child servers,
 * nginx with a throwaway config, and process memory readings.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import type { Peer } from '../../test/helpers/netns.ts'

export interface WrkResult {
  rps: number
  p50ms: number
  p99ms: number
  errors: number
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
  const args = ['netns', 'exec', peer.ns, 'wrk', '-t2', `-c${opts.connections ?? 64}`, `-d${seconds}s`, '--latency', ...(opts.headers ?? []).flatMap((h) => ['-H', h]), url]
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 })
  const out = r.stdout ?? ''
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(out)
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0)
  if (!rps) throw new Error(`wrk ${url} failed:\n${out}\n${r.stderr}`)
  return { rps, p50ms: p50 ? ms(p50[1], p50[2]) : NaN, p99ms: p99 ? ms(p99[1], p99[2]) : NaN, errors }
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

/** Time from exec to the first 200 on `url`, and the RSS after `idleMs` of idling. */
export async function coldStart(cmd: string[], url: string, idleMs = 1500): Promise<{ startMs: number; idleRssMb: number }> {
  const t0 = performance.now()
  const child = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore' })
  children.push(child)
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.status === 200) break
    } catch {}
    if (performance.now() - t0 > 20000) throw new Error(`${cmd[0]} never answered ${url}`)
    await new Promise((r) => setTimeout(r, 2))
  }
  const startMs = performance.now() - t0
  await new Promise((r) => setTimeout(r, idleMs))
  const idleRssMb = rss(child.pid!).now
  child.kill('SIGTERM')
  return { startMs, idleRssMb }
}
