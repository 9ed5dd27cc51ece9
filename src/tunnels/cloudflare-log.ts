/**
 * Reading cloudflared's stderr (facts §1.2-1.4): plain `<time> <LVL> <message> k=v` lines, or one
 * JSON object per line with `--output json` / TUNNEL_LOG_OUTPUT=json.
 */
import type { OutputEvent } from './types.ts'

/** The message part of a log line, whichever format it is in. */
export function logMessage(line: string): string {
  const t = line.trim()
  if (t.startsWith('{')) {
    try {
      const o = JSON.parse(t) as { message?: unknown }
      return typeof o.message === 'string' ? o.message : ''
    } catch {}
  }
  return t
}

/** Events every cloudflared run shares: the metrics address and the first registered connection. */
export function commonEvent(message: string): OutputEvent | null {
  // facts §1.4: "Starting metrics server on 127.0.0.1:20241/metrics".
  const metrics = /Starting metrics server on (\S+)\/metrics/.exec(message)
  if (metrics) return { metricsAddr: metrics[1] }
  // facts §1.3 step 6 (and the pre-2023.4.1 "Connection <uuid> registered" wording).
  if (/Registered tunnel connection|Connection [0-9a-f-]+ registered/.test(message)) return { ready: true }
  return null
}

/** Global flags of the `tunnel` command go before `run` (facts §1.5: after it they are usage errors). */
export function tunnelFlags(): string[] {
  // --metrics on an ephemeral loopback port: never one of the fixed 20241-20245 (facts §1.4).
  return ['tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:0']
}
