/** What a provider module gives the lifecycle manager: a command line and how to read it. */
import type { RemoteAccessSettings, ProviderName } from '../config/settings-schema.ts'

export type { ProviderName }

/** The provider variants latchkey runs. */
export type TunnelKind = 'tailscale-funnel' | 'tailscale-serve' | 'cloudflare-named' | 'cloudflare-quick'

/** A reason a tunnel cannot start, with the runbook's reason code (§3.1). */
export interface Prerequisite {
  code: 'remote_access_disabled' | 'provider_missing' | 'provider_not_enabled' | 'provider_not_configured' | 'runtime_prerequisite_missing'
  message: string
}

/** What the provider learned from one line of the child's output. */
export interface OutputEvent {
  url?: string
  ready?: boolean
  /** cloudflared's metrics address, to ask /quicktunnel when the banner was missed (facts §1.4). */
  metricsAddr?: string
}

/** Everything needed to spawn and watch one tunnel process. */
export interface TunnelPlan {
  provider: ProviderName
  kind: TunnelKind
  /** Absolute path of the executable (found on PATH by the prerequisite check). */
  executable: string
  args: string[]
  /** Added to the child's environment (the named tunnel's TUNNEL_TOKEN); never logged. */
  env: Record<string, string>
  /** Values that must be redacted from anything latchkey shows or logs. */
  secrets: string[]
  /** The public URL when it is known before start (named tunnel: its ingressUrl). */
  knownUrl: string | null
  /** The local port the tunnel forwards to: always a tunnel-ingress listener. */
  ingressPort: number
  /** Reads one line of output (stdout or stderr). */
  parse(line: string, stream: 'stdout' | 'stderr'): OutputEvent | null
}

export interface PlanContext {
  remote: RemoteAccessSettings
  executable: string
  /** The ingress port this provider must point at (facts §5, §6: the peer is always 127.0.0.1). */
  ingressPort: number
}
