/**
 * A real remote peer: a network namespace joined to the host by a veth pair (DESIGN.md,
 * "Testing a remote device for real"). latchkey binds the host end; requests are sent from
 * inside the namespace with curl, so the peer address latchkey sees is real.
 * Addresses are in 10.213.0.0/16; traffic never leaves the machine.
 */
import { spawnSync, spawn } from 'node:child_process'

export interface Peer {
  ns: string
  /** The host end's address (bind latchkey here or on 0.0.0.0). */
  hostAddress: string
  /** The namespace end's address (what latchkey sees as the peer). */
  peerAddress: string
  /** Run a command inside the namespace. */
  exec(cmd: string[], opts?: { input?: string; timeoutMs?: number }): { status: number; stdout: string; stderr: string }
  /** HTTP from the namespace with curl. */
  fetch(url: string, init?: PeerRequest): Promise<PeerResponse>
  destroy(): void
}

export interface PeerRequest {
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Raw extra curl arguments. */
  curlArgs?: string[]
  timeoutMs?: number
}

export interface PeerResponse {
  status: number
  headers: Headers
  body: string
  json<T = any>(): T
}

let counter = 0

function run(cmd: string[]): void {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`)
}

/** Whether this process may create namespaces (root with iproute2). */
export function canCreateNamespaces(): boolean {
  return process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0
}

export interface PeerOptions {
  /**
   * A fixed address pair (a /30 unless `prefixLength` says otherwise), e.g. a 172.17.x pair
   * to look like a Docker bridge. Default: a fresh pair in 10.213.0.0/16.
   */
  hostAddress?: string
  peerAddress?: string
  prefixLength?: number
}

export function createPeer(opts: PeerOptions = {}): Peer {
  const id = `${process.pid % 10000}${counter++}`
  const ns = `lk${id}`
  const host = `lkh${id}`
  const guest = `lkg${id}`
  // A /30 per peer: 10.213.<a>.<b*4+1> host, +2 peer.
  const n = (process.pid * 7 + counter * 13) % 16000
  const a = Math.floor(n / 64)
  const b = (n % 64) * 4
  const hostAddress = opts.hostAddress ?? `10.213.${a}.${b + 1}`
  const peerAddress = opts.peerAddress ?? `10.213.${a}.${b + 2}`
  const prefix = opts.prefixLength ?? 30
  spawnSync('ip', ['netns', 'del', ns])
  spawnSync('ip', ['link', 'del', host])
  run(['ip', 'netns', 'add', ns])
  run(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', guest])
  run(['ip', 'link', 'set', guest, 'netns', ns])
  run(['ip', 'addr', 'add', `${hostAddress}/${prefix}`, 'dev', host])
  run(['ip', 'link', 'set', host, 'up'])
  run(['ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${peerAddress}/${prefix}`, 'dev', guest])
  run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', guest, 'up'])
  run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
  let destroyed = false
  const peer: Peer = {
    ns,
    hostAddress,
    peerAddress,
    exec(cmd, opts = {}) {
      const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30000 })
      return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
    },
    fetch: (url, init = {}) => curlFrom(ns, url, init),
    destroy() {
      if (destroyed) return
      destroyed = true
      spawnSync('ip', ['netns', 'del', ns])
      spawnSync('ip', ['link', 'del', host])
    },
  }
  process.once('exit', () => peer.destroy())
  return peer
}

/** curl with the response head and body separated; ns = null runs on the host. */
export function curlFrom(ns: string | null, url: string, init: PeerRequest = {}): Promise<PeerResponse> {
  const args = ['-sS', '-i', '--http1.1', '-X', init.method ?? 'GET', '--max-time', String((init.timeoutMs ?? 15000) / 1000)]
  for (const [k, v] of Object.entries(init.headers ?? {})) args.push('-H', `${k}: ${v}`)
  if (init.body !== undefined) args.push('--data-binary', '@-')
  args.push(...(init.curlArgs ?? []), url)
  const cmd = ns ? ['ip', 'netns', 'exec', ns, 'curl', ...args] : ['curl', ...args]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (d) => out.push(d))
    child.stderr.on('data', (d) => (err += d))
    child.stdin.end(init.body ?? '')
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`curl ${url} failed (${code}): ${err.trim()}`))
      resolve(parseHttp(Buffer.concat(out).toString('utf8')))
    })
  })
}

function parseHttp(raw: string): PeerResponse {
  // Skip interim responses (100 Continue).
  let rest = raw
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    const head = rest.slice(0, end)
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0)
    if (status >= 100 && status < 200 && status !== 101) {
      rest = rest.slice(end + 4)
      continue
    }
    const headers = new Headers()
    for (const line of head.split('\r\n').slice(1)) {
      const i = line.indexOf(':')
      if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim())
    }
    const body = rest.slice(end + 4)
    return { status, headers, body, json: () => JSON.parse(body) }
  }
}
