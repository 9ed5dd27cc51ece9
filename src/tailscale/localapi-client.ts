/**
 * A small client for the Tailscale LocalAPI over its unix socket (facts §4.1): plain
 * HTTP/1.1 to `http://local-tailscaled.sock/localapi/v0/...`. Every call has a deadline, and
 * a daemon that is missing, refuses, or is slow becomes a LocalApiError, never a hang.
 */
import { Buffer } from 'node:buffer'

/** Facts §4.1: tailscaled accepts only this Host (or none) on its socket. */
export const LOCALAPI_HOST = 'local-tailscaled.sock'

/** The answers we read are small JSON objects; anything larger is not the LocalAPI. */
const MAX_BODY_BYTES = 4 * 1024 * 1024

export type LocalApiFailure = 'unreachable' | 'timeout' | 'http' | 'too-large'

export class LocalApiError extends Error {
  constructor(
    readonly failure: LocalApiFailure,
    message: string,
    /** The HTTP status, for `http` failures. */
    readonly status?: number,
  ) {
    super(message)
    this.name = 'LocalApiError'
  }
}

export interface LocalApiResponse {
  status: number
  body: string
}

export interface LocalApiClientOptions {
  socketPath: string
  /** Deadline for one whole request, connect to last byte (default 1000 ms). */
  timeoutMs?: number
}

export interface LocalApiClient {
  readonly socketPath: string
  /** GET a LocalAPI path (`/localapi/v0/...`); resolves with any HTTP status. */
  get(pathAndQuery: string): Promise<LocalApiResponse>
}

export function createLocalApiClient(opts: LocalApiClientOptions): LocalApiClient {
  const timeoutMs = opts.timeoutMs ?? 1000
  return {
    socketPath: opts.socketPath,
    async get(pathAndQuery) {
      // node:http is loaded on first use: it costs start-up time, and most machines have no tailscaled.
      const { request } = await import('node:http')
      return new Promise<LocalApiResponse>((resolve, reject) => {
        let settled = false
        const finish = (err: LocalApiError | null, res?: LocalApiResponse) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          if (err) reject(err)
          else resolve(res!)
        }
        // Note: Node sends `Host: localhost` on socketPath requests unless told otherwise, and
        // tailscaled answers that with 403 (facts §4.1). No Origin or Referer, ever.
        const req = request({
          socketPath: opts.socketPath,
          method: 'GET',
          path: pathAndQuery,
          headers: { host: LOCALAPI_HOST, accept: 'application/json' },
          agent: false,
        })
        const timer = setTimeout(() => {
          finish(new LocalApiError('timeout', `Tailscale LocalAPI did not answer within ${timeoutMs} ms`))
          req.destroy()
        }, timeoutMs)
        req.on('error', (err: NodeJS.ErrnoException) => {
          finish(new LocalApiError('unreachable', `Cannot reach the Tailscale LocalAPI at ${opts.socketPath} (${err.code ?? 'error'})`))
        })
        req.on('response', (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > MAX_BODY_BYTES) {
              finish(new LocalApiError('too-large', 'Tailscale LocalAPI answer is too large'))
              req.destroy()
              return
            }
            chunks.push(chunk)
          })
          res.on('end', () => finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
          res.on('error', () => finish(new LocalApiError('unreachable', 'Tailscale LocalAPI closed the connection mid-answer')))
        })
        req.end()
      })
    },
  }
}
