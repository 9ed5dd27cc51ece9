/**
 * Tailscale Funnel (public) and, beyond the runbook, Serve (tailnet only):
 * `tailscale [--socket=PATH] funnel|serve <targetPort>` in the foreground (facts §3.1).
 *
 * How `targetPort` maps: the runbook runs `tailscale funnel <targetPort>`, and a bare port
 * always means http://127.0.0.1:<port> (facts §3.1). latchkey keeps that command exactly, and
 * makes the port it names latchkey's Tailscale ingress: while the tunnel runs, a
 * tailscale-ingress listener is bound on 127.0.0.1:<targetPort> (tunnel-manager.ts), so the
 * funnel forwards to the ingress, never to the dashboard or API listener. The public side is
 * Funnel's default, HTTPS on 443 of `hostname`. A targetPort that another program (or the
 * dashboard) already uses is refused before anything is spawned.
 */
import type { PlanContext, TunnelPlan } from './types.ts'

/** Global flags go before the subcommand; `--socket` only when the operator set one (facts §4.1). */
export function tailscalePlan(ctx: PlanContext, opts: { socket?: string } = {}): TunnelPlan {
  const ts = ctx.remote.providers.tailscale
  const mode = ts.mode === 'serve' ? 'serve' : 'funnel'
  const args = [...(opts.socket ? [`--socket=${opts.socket}`] : []), mode, String(ctx.ingressPort)]
  let inBlock = false
  return {
    provider: 'tailscale',
    kind: mode === 'serve' ? 'tailscale-serve' : 'tailscale-funnel',
    executable: ctx.executable,
    args,
    env: {},
    secrets: [],
    knownUrl: null,
    ingressPort: ctx.ingressPort,
    // facts §3.1: the block on stdout, "Available on the internet:" (funnel) or "Available
    // within your tailnet:" (serve), the URL, the handler, then "Press Ctrl+C to exit.".
    parse(line, stream) {
      if (stream !== 'stdout') return null
      const text = line.trim()
      if (/^Available (on the internet|within your tailnet):$/.test(text)) {
        inBlock = true
        return null
      }
      if (inBlock && /^https?:\/\/\S+$/.test(text)) return { url: text.replace(/\/$/, '') }
      if (text === 'Press Ctrl+C to exit.') return { ready: true, url: `https://${ts.hostname}` }
      return null
    },
  }
}
