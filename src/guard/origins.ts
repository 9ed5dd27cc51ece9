/**
 * The origins whose pages may call the API cross-origin with credentials (CORS), and whose
 * state changes and WebSocket handshakes pass the same-origin rule. An origin is scheme +
 * host + port (RFC 6454 §4), and every check here compares all three:
 *
 * - a full origin entry (`https://laptop.example:8443`) allows exactly that origin;
 * - a `host:port` entry allows that host and port, over http or https;
 * - a bare host entry (`192.168.1.42`, and a concrete `--host`, added automatically: token-guard
 *   reference, "Concrete host shortcut") allows that host on latchkey's own dashboard and API
 *   ports only. Never an app listener's port or any other port: a page served there (an app,
 *   anything else on the box) is another origin, and must not drive the API with the
 *   operator's session;
 * - `localhost`, `127.0.0.1` and `[::1]` are bare hosts too (the local dashboard calling the
 *   API listener on its other port);
 * - a running tunnel's https origin is allowed while it runs (`live`).
 */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]']
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '', '127.0.0.1', 'localhost', '::1'])

export interface OriginPolicyOptions {
  /** The `--host` latchkey binds; a concrete one is allowed as a bare host. */
  host: string
  /** latchkey's own dashboard and API ports, as bound (read on every check: port 0 binds late). */
  ports: () => readonly number[]
  /** Origins allowed for now only, e.g. a running tunnel's public origin. */
  live?: () => readonly string[]
}

export class OriginPolicy {
  #exact = new Set<string>()
  #hosts = new Set<string>(LOOPBACK_HOSTS)
  #hostPorts = new Set<string>()
  #ports: () => readonly number[]
  #live: () => readonly string[]
  #host: string

  constructor(entries: readonly string[], opts: OriginPolicyOptions) {
    this.#ports = opts.ports
    this.#live = opts.live ?? (() => [])
    this.#host = opts.host
    this.reset(entries)
  }

  /** Replace the configured entries (a config reload); the bind host stays allowed. */
  reset(entries: readonly string[]): void {
    // Built aside and swapped in, so a check running meanwhile sees the old list or the new one.
    const sets = { exact: new Set<string>(), hosts: new Set<string>(LOOPBACK_HOSTS), hostPorts: new Set<string>() }
    for (const raw of entries) addEntry(sets, raw)
    const host = this.#host
    if (!WILDCARD_HOSTS.has(host)) addEntry(sets, host.includes(':') && !host.startsWith('[') ? `[${host}]` : host)
    this.#exact = sets.exact
    this.#hosts = sets.hosts
    this.#hostPorts = sets.hostPorts
  }

  add(raw: string): void {
    addEntry({ exact: this.#exact, hosts: this.#hosts, hostPorts: this.#hostPorts }, raw)
  }

  /** Whether a page of `origin` (the Origin header, exactly as sent) may use the API. */
  allows(origin: string | null): boolean {
    if (!origin || origin === 'null') return false
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      return false
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
    const o = url.origin.toLowerCase()
    // An Origin header is a serialized origin; anything with a path, credentials or odd
    // spelling is not one.
    if (o !== origin.toLowerCase()) return false
    if (this.#exact.has(o) || this.#live().includes(o)) return true
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
    const host = url.hostname.toLowerCase()
    if (this.#hostPorts.has(`${host}:${port}`)) return true
    return url.protocol === 'http:' && this.#hosts.has(host) && this.#ports().includes(port)
  }
}

function addEntry(sets: { exact: Set<string>; hosts: Set<string>; hostPorts: Set<string> }, raw: string): void {
  const entry = raw.trim().toLowerCase().replace(/\/+$/, '')
  if (!entry) return
  if (/^https?:\/\//.test(entry)) sets.exact.add(entry)
  else if (/^(\[[0-9a-f:.]+\]|[^:]+):\d+$/.test(entry)) sets.hostPorts.add(entry)
  else sets.hosts.add(entry)
}
