/** Small helpers shared by the login-token integration tests. */
import { curlFrom, type PeerRequest, type PeerResponse } from '../../helpers/netns.ts'
import type { Latchkey } from '../../helpers/latchkey.ts'

/** Everything seen that must never carry a token: Location headers and error bodies. */
export const seen = { locations: [] as string[], errorBodies: [] as string[], tokens: new Set<string>() }

function record(res: PeerResponse): PeerResponse {
  const location = res.headers.get('location')
  if (location !== null) seen.locations.push(location)
  if (res.status >= 400) seen.errorBodies.push(res.body)
  return res
}

/** A request as the local user (loopback, Host 127.0.0.1:<port>): admin by default. */
export async function local(lk: Latchkey, path: string, init: PeerRequest = {}): Promise<PeerResponse> {
  return record(await curlFrom(null, lk.url(path), init))
}

/** A request from a namespace peer (or any curl runner), recorded for the secret checks. */
export async function via(send: (url: string, init: PeerRequest) => Promise<PeerResponse>, url: string, init: PeerRequest = {}): Promise<PeerResponse> {
  return record(await send(url, init))
}

/** A JSON POST (the only kind of state change the same-origin rule lets through). */
export function post(body: unknown, headers: Record<string, string> = {}): PeerRequest {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }
}

/** The session cookie pair (`latchkey_session=...`) from a Set-Cookie header. */
export function cookieOf(res: PeerResponse): string {
  const set = res.headers.get('set-cookie') ?? ''
  const m = /latchkey_session=[^;]+/.exec(set)
  if (!m) throw new Error(`no session cookie in ${res.status} ${set}`)
  return m[0]
}

/** Remember a token so the final check can look for it everywhere. */
export function track<T extends { token?: string; url?: string | null }>(body: T): T {
  if (body.token) seen.tokens.add(body.token)
  const rt = body.url ? new URL(body.url).searchParams.get('rt') : null
  if (rt) seen.tokens.add(rt)
  return body
}

/** The Cloudflare ingress port from the `ready` line (`cfi=`). */
export function cloudflareIngressPort(lk: Latchkey): number {
  const m = /INFO\s+ready .*\bcfi=(\d+)/.exec(lk.output())
  if (!m) throw new Error('no cfi= in the ready line')
  return Number(m[1])
}

export function tailscaleIngressPort(lk: Latchkey): number {
  const m = /INFO\s+ready .*\btsi=(\d+)/.exec(lk.output())
  if (!m) throw new Error('no tsi= in the ready line')
  return Number(m[1])
}
