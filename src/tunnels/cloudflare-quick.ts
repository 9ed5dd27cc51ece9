/**
 * Cloudflare quick tunnel (runbook §1.4): `cloudflared tunnel --no-autoupdate --url
 * http://127.0.0.1:<cloudflare ingress>`. The runbook points it at the dashboard port; latchkey
 * points it at its Cloudflare ingress (DESIGN.md), and at 127.0.0.1 rather than localhost,
 * which cloudflared may dial as ::1 (facts §6). The URL is read from the banner as it appears
 * (facts §1.3 step 4: look for trycloudflare.com, not the first box), or from /quicktunnel.
 */
import type { PlanContext, TunnelPlan } from './types.ts'
import { commonEvent, logMessage, tunnelFlags } from './cloudflare-log.ts'

const QUICK_URL = /https:\/\/[a-z0-9-]+\.trycloudflare\.com/

export function cloudflareQuickPlan(ctx: PlanContext): TunnelPlan {
  return {
    provider: 'cloudflare',
    kind: 'cloudflare-quick',
    executable: ctx.executable,
    args: [...tunnelFlags(), '--url', `http://127.0.0.1:${ctx.ingressPort}`],
    env: {},
    secrets: [],
    knownUrl: null,
    ingressPort: ctx.ingressPort,
    parse(line) {
      const message = logMessage(line)
      const url = QUICK_URL.exec(message)
      if (url) return { url: url[0] }
      return commonEvent(message)
    },
  }
}

/** facts §1.4: GET /quicktunnel → {"hostname":"<bare>"}; add https:// in front. */
export async function quickTunnelUrl(metricsAddr: string, timeoutMs = 2000): Promise<string | null> {
  if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(metricsAddr)) return null
  try {
    const res = await fetch(`http://${metricsAddr}/quicktunnel`, { signal: AbortSignal.timeout(timeoutMs) })
    const body = (await res.json()) as { hostname?: unknown }
    return typeof body.hostname === 'string' && body.hostname ? `https://${body.hostname.replace(/^https:\/\//, '')}` : null
  } catch {
    return null
  }
}
