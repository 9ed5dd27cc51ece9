/**
 * The reverse proxies latchkey's app proxy is compared with, each started the way a user
 * would start it, in front of the same upstream on 127.0.0.1 and listening where the caller
 * says (the host end of the namespace veth): Debian's HAProxy and Caddy, a 15-line Go
 * `httputil.ReverseProxy` built with Debian's golang-go (standard library only), and npm's
 * http-proxy under Node. nginx is in lib.ts. Each is one process; all keep idle connections
 * to the upstream and add X-Forwarded-For, as latchkey and the nginx config do.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { ROOT } from '../../test/helpers/latchkey.ts'
import { track } from './lib.ts'

export type PeerName = 'haproxy' | 'caddy' | 'go' | 'node'

/** The command each peer needs, and the Debian package it comes in. */
const needs: Record<PeerName, { cmd: string; pkg?: string }> = {
  haproxy: { cmd: 'haproxy', pkg: 'haproxy' },
  caddy: { cmd: 'caddy', pkg: 'caddy' },
  go: { cmd: 'go', pkg: 'golang-go' },
  node: { cmd: 'node' },
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0

/**
 * The peers this machine can run, installing the missing Debian packages first when root
 * (as npm test does for its own). A peer that is still missing is left out, and said so.
 */
export function availablePeers(): PeerName[] {
  const missing = [...new Set(Object.values(needs).filter((n) => n.pkg && !has(n.cmd)).map((n) => n.pkg!))]
  if (missing.length && process.getuid?.() === 0 && has('apt-get')) {
    console.log(`Installing Debian packages for the bench peers: ${missing.join(' ')}`)
    const apt = (args: string[]) => spawnSync('bash', [join(ROOT, 'scripts', 'apt-get.sh'), ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    if (apt(['update', '-qq']).status === 0) apt(['install', '-y', '-qq', ...missing])
  }
  const out: PeerName[] = []
  for (const [name, n] of Object.entries(needs) as [PeerName, { cmd: string; pkg?: string }][]) {
    if (has(n.cmd)) out.push(name)
    else console.log(`${name} rows skipped: no ${n.cmd} (apt-get install ${n.pkg})`)
  }
  return out
}

/** Start `name` on `host:port` in front of 127.0.0.1:`upstreamPort`; resolves once it accepts connections. */
export async function startPeer(name: PeerName, dir: string, host: string, port: number, upstreamPort: number): Promise<ChildProcess> {
  const child = { haproxy: startHaproxy, caddy: startCaddy, go: startGoProxy, node: startNodeHttpProxy }[name](dir, host, port, upstreamPort)
  track(child)
  // Kept for an error message: Caddy, for one, logs its warnings there at every start.
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-4000)))
  await listening(child, host, port).catch((err: Error) => {
    throw new Error(`${err.message}:\n${stderr}`)
  })
  return child
}

/** HAProxy with one thread (as nginx has one worker), in the foreground, no logging. */
function startHaproxy(dir: string, host: string, port: number, upstreamPort: number): ChildProcess {
  const cfg = join(dir, 'haproxy.cfg')
  writeFileSync(cfg, `
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option forwardfor
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind ${host}:${port}
  default_backend app
backend app
  server app 127.0.0.1:${upstreamPort}
`)
  return spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * Caddy from a Caddyfile: admin endpoint off, automatic HTTPS off, its home and config
 * directories (where it autosaves the config; 2.6 has no `persist_config off`) in the bench's
 * temp dir. Caddy 2 sends no telemetry. Go's default GOMAXPROCS (every core), as users run it.
 */
function startCaddy(dir: string, host: string, port: number, upstreamPort: number): ChildProcess {
  const cfg = join(dir, 'Caddyfile')
  writeFileSync(cfg, `{
\tadmin off
\tauto_https off
\tlog {
\t\tlevel WARN
\t}
}

http://:${port} {
\tbind ${host}
\treverse_proxy 127.0.0.1:${upstreamPort}
}
`)
  const home = join(dir, 'caddy-home')
  mkdirSync(home, { recursive: true })
  const env = { ...process.env, HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') }
  return spawn('caddy', ['run', '--config', cfg, '--adapter', 'caddyfile'], { stdio: ['ignore', 'ignore', 'pipe'], env })
}

/**
 * The Go proxy most people would write. Note: the one non-default line keeps 128 idle upstream
 * connections (net/http keeps 2 per host by default, so under load it would open and close a
 * connection per request); nginx gets `keepalive 128` for the same reason.
 */
const goSource = `package main

import (
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	target, _ := url.Parse(os.Args[1])
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 128}
	log.Fatal(http.ListenAndServe(os.Args[2], proxy))
}
`

/** The Go proxy's binary, built with the standard library only and kept under .cache/bench/. */
function goProxyBinary(): string {
  const dir = join(ROOT, '.cache', 'bench', 'go-proxy')
  const src = join(dir, 'main.go')
  const bin = join(dir, 'go-proxy')
  if (existsSync(bin) && existsSync(src) && readFileSync(src, 'utf8') === goSource) return bin
  mkdirSync(dir, { recursive: true })
  writeFileSync(src, goSource)
  // Offline and with the installed toolchain: nothing is downloaded at build time.
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOPROXY: 'off', GOFLAGS: '', GO111MODULE: 'off', GOCACHE: join(dir, 'build-cache') }
  const r = spawnSync('go', ['build', '-o', bin, 'main.go'], { cwd: dir, env, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('building the Go ReverseProxy failed')
  return bin
}

function startGoProxy(_dir: string, host: string, port: number, upstreamPort: number): ChildProcess {
  return spawn(goProxyBinary(), [`http://127.0.0.1:${upstreamPort}`, `${host}:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * npm's http-proxy under Node (what its users run), as its README shows, with a keep-alive
 * agent: without one, http-proxy sends `Connection: close` upstream on every request.
 */
function startNodeHttpProxy(_dir: string, host: string, port: number, upstreamPort: number): ChildProcess {
  const code = `
    const http = require('node:http')
    const httpProxy = require('http-proxy')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 128 })
    const proxy = httpProxy.createProxyServer({ target: 'http://127.0.0.1:${upstreamPort}', agent, xfwd: true })
    proxy.on('error', (err, req, res) => { res.writeHead(502); res.end() })
    http.createServer((req, res) => proxy.web(req, res)).listen(${port}, '${host}')`
  return spawn('node', ['-e', code], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Resolves once host:port accepts a TCP connection; rejects if the child exits first or after 20 s. */
async function listening(child: ChildProcess, host: string, port: number): Promise<void> {
  const deadline = Date.now() + 20000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited (${child.exitCode}) before listening on ${host}:${port}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host, () => (s.destroy(), resolve(true)))
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`${child.spawnfile} is not listening on ${host}:${port}`)
}
