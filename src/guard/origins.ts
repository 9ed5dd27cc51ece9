/**
 * The CORS allowlist (--allowed-origins): the origins whose pages may call the API
 * cross-origin with credentials, and whose state-changing requests pass the same-origin rule.
 * An entry is a hostname or IP (any scheme and port), `host:port`, or a full origin.
 */
export class OriginPolicy {
  #exact = new Set<string>()
  #hosts = new Set<string>()
  #hostPorts = new Set<string>()

  #live: () => readonly string[]

  /** `live`: origins allowed for now only, e.g. a running tunnel's public origin. */
  constructor(entries: readonly string[], opts: { host: string; dashboardPort: number; live?: () => readonly string[] }) {
    this.#live = opts.live ?? (() => [])
    for (const raw of entries) this.add(raw)
    // A concrete --host is added automatically (token-guard reference, "Concrete host shortcut").
    if (!['0.0.0.0', '::', '', '127.0.0.1', 'localhost', '::1'].includes(opts.host)) this.add(opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host)
    // The local dashboard calling the API listener on another port.
    for (const h of ['localhost', '127.0.0.1', '[::1]']) this.#exact.add(`http://${h}:${opts.dashboardPort}`)
  }

  add(raw: string): void {
    const entry = raw.trim().toLowerCase().replace(/\/+$/, '')
    if (!entry) return
    if (/^https?:\/\//.test(entry)) this.#exact.add(entry)
    else if (/^(\[[0-9a-f:.]+\]|[^:]+):\d+$/.test(entry)) this.#hostPorts.add(entry)
    else this.#hosts.add(entry)
  }

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
    if (o !== origin.toLowerCase()) return false
    return this.#exact.has(o) || this.#hosts.has(url.hostname.toLowerCase()) || this.#hostPorts.has(url.host.toLowerCase()) || this.#live().includes(o)
  }
}
