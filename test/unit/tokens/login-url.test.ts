/** Login URLs: the remote base (tunnel URL, else connect address, else 409) and the link shape. */
import { describe, expect, it } from 'bun:test'
import { loginUrl, remoteBase } from '../../../src/connect/login-url.ts'
import { ApiError } from '../../../src/errors.ts'
import type { Config } from '../../../src/config/resolve.ts'
import type { NetworkAccess } from '../../../src/server/network-access.ts'

function deps(opts: { host: string; allowedOrigins?: string[]; status?: unknown; dashboard?: number; api?: number; opened?: string[] }) {
  return {
    config: { host: opts.host, allowedOrigins: opts.allowedOrigins ?? [] } as unknown as Config,
    ports: { dashboard: opts.dashboard ?? 3000, api: opts.api ?? 8000, tailscaleIngress: 0, cloudflareIngress: 0 },
    remoteStatus: async (): Promise<unknown> => opts.status ?? { state: 'stopped', url: null },
    network: { opened: () => opts.opened ?? [] } as unknown as NetworkAccess,
  }
}

describe('remoteBase', () => {
  it('uses the running tunnel URL, as an origin', async () => {
    const base = await remoteBase(deps({ host: '127.0.0.1', status: { state: 'running', url: 'https://quiet-fox.trycloudflare.com/' } }))
    expect(base).toEqual({ base: 'https://quiet-fox.trycloudflare.com', source: 'tunnel' })
  })

  it('reads a status that the tunnel manager answers asynchronously', async () => {
    const base = await remoteBase({ ...deps({ host: '127.0.0.1' }), remoteStatus: async () => ({ state: 'running', url: 'https://box.tail1234.ts.net' }) })
    expect(base.base).toBe('https://box.tail1234.ts.net')
  })

  it('ignores the URL of a tunnel that is not running, and non-http URLs', async () => {
    const starting = await remoteBase(deps({ host: '10.0.0.5', status: { state: 'starting', url: 'https://x.trycloudflare.com' } }))
    expect(starting).toEqual({ base: 'http://10.0.0.5:3000', source: 'connect-address' })
    const weird = await remoteBase(deps({ host: '10.0.0.5', status: { state: 'running', url: 'javascript:alert(1)' } }))
    expect(weird.source).toBe('connect-address')
  })

  it('falls back to the first allowed origin with the dashboard port on a wildcard bind', async () => {
    const base = await remoteBase(deps({ host: '0.0.0.0', allowedOrigins: ['phone-lan.example', 'other'], dashboard: 41234 }))
    expect(base).toEqual({ base: 'http://phone-lan.example:41234', source: 'connect-address' })
  })

  it('brackets IPv6 and uses the API port in headless mode', async () => {
    const base = await remoteBase(deps({ host: 'fd00::5', dashboard: 0, api: 8123 }))
    expect(base.base).toBe('http://[fd00::5]:8123')
  })

  it('answers 409 remote_base_unavailable with what to do when there is no base', async () => {
    let err: unknown
    try {
      await remoteBase(deps({ host: '127.0.0.1' }))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(409)
    expect((err as ApiError).code).toBe('remote_base_unavailable')
    expect((err as ApiError).message).toContain('--host 0.0.0.0')
  })
})

describe('loginUrl', () => {
  it('builds <base>/remote-login?rt=<token> with the token URL-encoded', () => {
    expect(loginUrl('https://h.example', 'a-b_c')).toBe('https://h.example/remote-login?rt=a-b_c')
    expect(loginUrl('http://1.2.3.4:3000', 'x/y+z')).toBe('http://1.2.3.4:3000/remote-login?rt=x%2Fy%2Bz')
  })
})
