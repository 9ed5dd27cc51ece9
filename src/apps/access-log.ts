/**
 * The per-app access log for admins: one JSON line per request (time, identity, method,
 * path, status, bytes, duration) in `<data dir>/app-logs/<app>.log`. Bounded: when a file
 * passes its limit it becomes `<app>.log.1` (replacing the older one), so an app never uses
 * more than twice the limit. Lines are buffered and written in batches, off the hot path.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Buffer } from 'node:buffer'

export interface AccessEntry {
  time: string
  /** "local", "tailscale:<id>", "session:<id>", "token", "api-key" or "anonymous": never a secret. */
  identity: string
  method: string
  /** The path only: query strings can carry secrets. */
  path: string
  status: number
  bytes: number
  durationMs: number
}

const FLUSH_MS = 500

let isoMs = -1
let isoText = ''

/** The time now as an ISO string; requests in the same millisecond share one (formatting is not free at tens of thousands a second). */
export function isoNow(): string {
  const ms = Date.now()
  if (ms !== isoMs) {
    isoMs = ms
    isoText = new Date(ms).toISOString()
  }
  return isoText
}

export class AccessLog {
  readonly dir: string
  #pending = new Map<string, string[]>()
  #sizes = new Map<string, number>()
  #timer: ReturnType<typeof setTimeout> | null = null

  constructor(dataDir: string, private readonly maxBytes = 1024 * 1024) {
    this.dir = join(dataDir, 'app-logs')
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
  }

  record(app: string, entry: AccessEntry): void {
    let lines = this.#pending.get(app)
    if (!lines) this.#pending.set(app, (lines = []))
    lines.push(JSON.stringify(entry))
    this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  /** Write buffered lines now (also at shutdown). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    for (const [app, lines] of this.#pending) {
      const file = this.#file(app)
      const text = lines.join('\n') + '\n'
      let size = this.#sizes.get(app) ?? (existsSync(file) ? statSync(file).size : 0)
      if (size > 0 && size + text.length > this.maxBytes) {
        renameSync(file, file + '.1')
        size = 0
      }
      appendFileSync(file, text, { mode: 0o600 })
      this.#sizes.set(app, size + Buffer.byteLength(text))
    }
    this.#pending.clear()
  }

  /** The newest `limit` entries, newest first. */
  read(app: string, limit: number): AccessEntry[] {
    this.flush()
    const file = this.#file(app)
    const out: AccessEntry[] = []
    for (const path of [file, file + '.1']) {
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch {
        continue
      }
      const lines = text.split('\n').filter(Boolean)
      for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
        try {
          out.push(JSON.parse(lines[i]))
        } catch {
          // A torn last line after a crash: skip it.
        }
      }
      if (out.length >= limit) break
    }
    return out
  }

  #file(app: string): string {
    // App names are validated (lowercase, digits, dashes), so they are safe file names.
    return join(this.dir, `${app}.log`)
  }
}
