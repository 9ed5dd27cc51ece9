/**
 * Plain log lines (stdout) with a level. Callers pass structured fields; values that look
 * like secrets are never passed here (and `redact` scrubs known ones from free text).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error'
const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** Register a secret that must never appear in a log line. */
  addSecret(secret: string | null | undefined): void
  /** Subscribe to log lines (the TUI shows recent events). */
  onLine(listener: (level: Level, line: string) => void): () => void
}

export function createLogger(opts: { level: Level; write?: (line: string) => void }): Logger {
  const secrets = new Set<string>()
  const listeners = new Set<(level: Level, line: string) => void>()
  // console.log writes the same bytes as process.stdout.write(line + '\n') without creating
  // process.stdout (on Bun, the Node stream machinery: a good part of a cold start).
  const write = opts.write ?? ((line: string) => console.log(line))
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < order[opts.level]) return
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue
        const s = typeof v === 'string' ? v : JSON.stringify(v)
        line += ` ${k}=${/[\s"]/.test(s) ? JSON.stringify(s) : s}`
      }
    }
    line = redact(line, secrets)
    write(line)
    for (const l of listeners) l(level, line)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    addSecret: (s) => {
      if (s && s.length >= 8) secrets.add(s)
    },
    onLine: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  }
}

/** Replace every known secret, and anything shaped like a token query parameter, with a mask. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text
  for (const s of secrets) out = out.split(s).join('[redacted]')
  return out.replace(/([?&](?:token|rt)=)[^&\s"]+/g, '$1[redacted]')
}
