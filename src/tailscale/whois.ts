/**
 * Tailscale WhoIs by peer address (facts §4.2), with a short per-address cache so a busy
 * dashboard asks tailscaled once per peer every few seconds, not once per request.
 * Unknown peers (404), tagged nodes (§4.3), a daemon that is down, slow or refuses: all
 * "no identity" (null), never an exception.
 */
import { isLoopbackAddress } from '../net/ip.ts'
import { LocalApiError, type LocalApiClient } from './localapi-client.ts'

/** A person on the tailnet, as WhoIs names them (tagged nodes are not people: facts §4.3). */
export interface TailscaleIdentity {
  id: string
  loginName: string
  displayName: string
  profilePicUrl: string
  nodeName?: string
}

export interface WhoisOptions {
  client: LocalApiClient
  /** How long an identity is reused (default 10 s). */
  ttlMs?: number
  /** How long "no identity" is reused (default 2 s), so failures do not hammer the socket. */
  negativeTtlMs?: number
  /** Told once per failure kind until a lookup succeeds again (no secrets: addresses only). */
  onFailure?(error: LocalApiError): void
  now?(): number
}

export interface Whois {
  /** The identity, synchronously when the cache has the answer (the common case, on every request). */
  (address: string, port: number): TailscaleIdentity | null | Promise<TailscaleIdentity | null>
  /** Cache hits and LocalAPI calls so far (for tests and diagnostics). */
  readonly stats: { hits: number; calls: number }
  clear(): void
}

interface Entry {
  until: number
  value: Promise<TailscaleIdentity | null>
  /** The answer once it came: returned without a promise, which saves every request a wait. */
  settled?: { who: TailscaleIdentity | null }
}

const CACHE_LIMIT = 4096

/** The `addr` parameter: `ip:port`, `[v6]:port`, or a bare IP when the port is unknown (0). */
export function whoisAddr(address: string, port: number): string {
  const ip = address.includes(':') ? address.replace(/^::ffff:(?=\d+\.)/i, '') : address
  if (!port) return ip
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`
}

/**
 * The person behind a WhoIs answer, or null. IDs are int64 in Go (facts §4.2), beyond what a
 * JS number holds exactly, so they are read as digit strings from the raw text.
 */
export function identityFromWhois(body: string): TailscaleIdentity | null {
  let parsed: any
  try {
    parsed = JSON.parse(body.replace(/("(?:ID|User)"\s*:\s*)(-?\d+)/g, '$1"$2"'))
  } catch {
    return null
  }
  const node = parsed?.Node
  const profile = parsed?.UserProfile
  if (!node || !profile || typeof profile.ID !== 'string') return null
  // Facts §4.3: a tagged node's profile is the "tagged-devices" pseudo-user, not a person.
  if ((Array.isArray(node.Tags) && node.Tags.length > 0) || profile.LoginName === 'tagged-devices') return null
  const loginName = typeof profile.LoginName === 'string' ? profile.LoginName : ''
  return {
    id: profile.ID,
    loginName,
    displayName: typeof profile.DisplayName === 'string' && profile.DisplayName ? profile.DisplayName : loginName,
    profilePicUrl: typeof profile.ProfilePicURL === 'string' ? profile.ProfilePicURL : '',
    nodeName: typeof node.ComputedName === 'string' && node.ComputedName ? node.ComputedName : typeof node.Name === 'string' ? node.Name.replace(/\.$/, '') : undefined,
  }
}

export function createWhois(opts: WhoisOptions): Whois {
  const ttl = opts.ttlMs ?? 10_000
  const negativeTtl = opts.negativeTtlMs ?? 2_000
  const now = opts.now ?? Date.now
  const cache = new Map<string, Entry>()
  const stats = { hits: 0, calls: 0 }
  let lastFailure: string | null = null

  async function ask(addr: string): Promise<TailscaleIdentity | null> {
    stats.calls++
    try {
      const res = await opts.client.get(`/localapi/v0/whois?addr=${encodeURIComponent(addr)}`)
      lastFailure = null
      // 404 "no match for IP:port" is an unknown peer; 403/400 are no identity too (§4.2).
      return res.status === 200 ? identityFromWhois(res.body) : null
    } catch (err) {
      const e = err instanceof LocalApiError ? err : new LocalApiError('unreachable', String(err))
      if (lastFailure !== e.failure) opts.onFailure?.(e)
      lastFailure = e.failure
      return null
    }
  }

  const lookup = ((address: string, port: number) => {
    // A tailnet address names one node, so the IP is the key. A loopback peer is a
    // connection tailscaled proxied (userspace networking, §4.2): only ip:port identifies it.
    const key = isLoopbackAddress(address) ? whoisAddr(address, port) : whoisAddr(address, 0)
    const t = now()
    const hit = cache.get(key)
    if (hit && hit.until > t) {
      stats.hits++
      return hit.settled ? hit.settled.who : hit.value
    }
    if (cache.size >= CACHE_LIMIT) {
      for (const [k, e] of cache) if (e.until <= t) cache.delete(k)
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!)
    }
    // In-flight lookups are shared: the entry holds the promise, its expiry set on answer.
    const entry: Entry = { until: Infinity, value: ask(whoisAddr(address, port)) }
    cache.set(key, entry)
    entry.value.then((who) => {
      entry.settled = { who }
      entry.until = now() + (who ? ttl : negativeTtl)
    })
    return entry.value
  }) as Whois
  Object.defineProperty(lookup, 'stats', { value: stats })
  lookup.clear = () => cache.clear()
  return lookup
}
