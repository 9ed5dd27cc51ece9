/**
 * Tailscale WhoIs by peer address (facts §4.2), with a short per-address cache so a busy
 * dashboard asks tailscaled once per peer every few seconds, not once per request. The
 * answer says what the guard needs to tell apart, never as an exception:
 *
 * - `person`: a user-owned node, with its identity;
 * - `tagged`: a tailnet node that is not a person (§4.3): it is on the tailnet, with no identity;
 * - `unknown`: not a tailnet connection (404 "no match for IP:port"), or no tailscaled at all
 *   (its socket is missing or refuses: then it relays nothing either);
 * - `failed`: tailscaled is there but could not say (slow, denied, an answer we cannot read).
 *
 * Any peer but loopback is cached by its IP, which names one node. A loopback peer is asked
 * about on every request, by its exact ip:port, and never cached: in userspace-networking
 * mode tailscaled re-dials every tailnet connection from 127.0.0.1 and WhoIs answers for
 * that ip:port (§4.2), but the kernel hands a closed connection's source port to the next
 * one at once, so an answer about a port says nothing about the next connection from it.
 * Without the socket file there is no tailscaled to relay anything: `unknown` at once.
 */
import { existsSync } from 'node:fs'
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

export type WhoisAnswer =
  | { kind: 'person'; identity: TailscaleIdentity }
  | { kind: 'tagged' }
  | { kind: 'unknown' }
  | { kind: 'failed'; why: string }

const TAGGED: WhoisAnswer = { kind: 'tagged' }
const UNKNOWN: WhoisAnswer = { kind: 'unknown' }

/** The identity in an answer, when it names a person. */
export function personOf(answer: WhoisAnswer): TailscaleIdentity | null {
  return answer.kind === 'person' ? answer.identity : null
}

export interface WhoisOptions {
  client: LocalApiClient
  /** How long an identity is reused (default 10 s). */
  ttlMs?: number
  /** How long a non-person answer is reused (default 2 s), so failures do not hammer the socket. */
  negativeTtlMs?: number
  /** Told once per failure kind until a lookup succeeds again (no secrets: addresses only). */
  onFailure?(error: LocalApiError): void
  /** Whether tailscaled's socket exists (default: a stat of the client's socket path). */
  socketPresent?(): boolean
  now?(): number
}

export interface Whois {
  /** The answer, synchronously when the cache has it (the common case, on every request). */
  (address: string, port: number): WhoisAnswer | Promise<WhoisAnswer>
  /** Cache hits and LocalAPI calls so far (for tests and diagnostics). */
  readonly stats: { hits: number; calls: number }
  clear(): void
}

interface Entry {
  until: number
  value: Promise<WhoisAnswer>
  /** The answer once it came: returned without a promise, which saves every request a wait. */
  settled?: WhoisAnswer
}

const CACHE_LIMIT = 4096

/** The `addr` parameter: `ip:port`, `[v6]:port`, or a bare IP when the port is unknown (0). */
export function whoisAddr(address: string, port: number): string {
  const ip = address.includes(':') ? address.replace(/^::ffff:(?=\d+\.)/i, '') : address
  if (!port) return ip
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`
}

/**
 * What a 200 WhoIs body says. IDs are int64 in Go (facts §4.2), beyond what a JS number
 * holds exactly, so they are read as digit strings from the raw text.
 */
export function answerFromWhois(body: string): WhoisAnswer {
  let parsed: any
  try {
    parsed = JSON.parse(body.replace(/("(?:ID|User)"\s*:\s*)(-?\d+)/g, '$1"$2"'))
  } catch {
    return { kind: 'failed', why: 'tailscaled sent a WhoIs answer that is not JSON' }
  }
  const node = parsed?.Node
  const profile = parsed?.UserProfile
  // Facts §4.3: a tagged node's profile is the "tagged-devices" pseudo-user, not a person.
  if (node && ((Array.isArray(node.Tags) && node.Tags.length > 0) || profile?.LoginName === 'tagged-devices')) return TAGGED
  if (!node || !profile || typeof profile.ID !== 'string') return { kind: 'failed', why: 'tailscaled sent a WhoIs answer without a node or user' }
  const loginName = typeof profile.LoginName === 'string' ? profile.LoginName : ''
  return {
    kind: 'person',
    identity: {
      id: profile.ID,
      loginName,
      displayName: typeof profile.DisplayName === 'string' && profile.DisplayName ? profile.DisplayName : loginName,
      profilePicUrl: typeof profile.ProfilePicURL === 'string' ? profile.ProfilePicURL : '',
      nodeName: typeof node.ComputedName === 'string' && node.ComputedName ? node.ComputedName : typeof node.Name === 'string' ? node.Name.replace(/\.$/, '') : undefined,
    },
  }
}

export function createWhois(opts: WhoisOptions): Whois {
  const ttl = opts.ttlMs ?? 10_000
  const negativeTtl = opts.negativeTtlMs ?? 2_000
  const now = opts.now ?? Date.now
  const cache = new Map<string, Entry>()
  const stats = { hits: 0, calls: 0 }
  let lastFailure: string | null = null

  // While tailscaled's socket is missing or refuses, it answers for no tailnet address:
  // every such peer is `unknown` without a call, until this time.
  let absentUntil = 0

  async function ask(addr: string): Promise<WhoisAnswer> {
    stats.calls++
    try {
      const res = await opts.client.get(`/localapi/v0/whois?addr=${encodeURIComponent(addr)}`)
      lastFailure = null
      if (res.status === 200) return answerFromWhois(res.body)
      if (res.status === 404) return UNKNOWN // "no match for IP:port"
      return { kind: 'failed', why: `tailscaled answered WhoIs with HTTP ${res.status}` }
    } catch (err) {
      const e = err instanceof LocalApiError ? err : new LocalApiError('unreachable', String(err))
      if (lastFailure !== e.failure) opts.onFailure?.(e)
      lastFailure = e.failure
      if (e.failure === 'unreachable') {
        absentUntil = now() + negativeTtl
        return UNKNOWN
      }
      return { kind: 'failed', why: e.message }
    }
  }

  const socketPresent = opts.socketPresent ?? (() => existsSync(opts.client.socketPath))

  const lookup = ((address: string, port: number) => {
    if (isLoopbackAddress(address)) return socketPresent() ? ask(whoisAddr(address, port)) : UNKNOWN
    const key = whoisAddr(address, 0)
    const t = now()
    if (absentUntil > t) return UNKNOWN
    const hit = cache.get(key)
    if (hit && hit.until > t) {
      stats.hits++
      return hit.settled ?? hit.value
    }
    if (cache.size >= CACHE_LIMIT) {
      for (const [k, e] of cache) if (e.until <= t) cache.delete(k)
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!)
    }
    // In-flight lookups are shared: the entry holds the promise, its expiry set on answer.
    const entry: Entry = { until: Infinity, value: ask(whoisAddr(address, port)) }
    cache.set(key, entry)
    entry.value.then((answer) => {
      entry.settled = answer
      entry.until = now() + (answer.kind === 'person' ? ttl : negativeTtl)
    })
    return entry.value
  }) as Whois
  Object.defineProperty(lookup, 'stats', { value: stats })
  lookup.clear = () => {
    cache.clear()
    absentUntil = 0
  }
  return lookup
}
