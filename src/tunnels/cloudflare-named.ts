/**
 * Cloudflare named tunnel (runbook §1.3): `cloudflared tunnel --no-autoupdate run <tunnelName>`
 * with the token in TUNNEL_TOKEN only, never on the command line (facts §2: the token is a flag
 * of `run` or that env var). Its public URL is the configured ingressUrl; it is running with
 * the first registered connection.
 *
 * Note: `run --url http://127.0.0.1:<cloudflare ingress>` is passed as the local origin (a proxy
 * flag of `run`, facts §1.5). A dashboard-managed tunnel's ingress rules come from Cloudflare
 * and take precedence: point its public hostname at the same address there.
 */
import type { PlanContext, TunnelPlan } from './types.ts'
import { commonEvent, logMessage, tunnelFlags } from './cloudflare-log.ts'

export function cloudflareNamedPlan(ctx: PlanContext): TunnelPlan {
  const cf = ctx.remote.providers.cloudflare
  const token = cf.tunnelToken ?? ''
  return {
    provider: 'cloudflare',
    kind: 'cloudflare-named',
    executable: ctx.executable,
    args: [...tunnelFlags(), 'run', '--url', `http://127.0.0.1:${ctx.ingressPort}`, cf.tunnelName],
    env: { TUNNEL_TOKEN: token },
    secrets: [token],
    knownUrl: cf.ingressUrl.replace(/\/+$/, ''),
    ingressPort: ctx.ingressPort,
    parse: (line) => commonEvent(logMessage(line)),
  }
}
