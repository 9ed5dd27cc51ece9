/**
 * The start gates of runbook §1.1-1.4 and §3, shared by manual start (409) and restore (the
 * reason code). Each failure names exactly the field or executable that is missing.
 */
import type { RemoteAccessSettings, ProviderName } from '../config/settings-schema.ts'
import type { Prerequisite } from './types.ts'
import { findExecutable } from './find-executable.ts'

const P = 'remoteAccess.providers'

/** The executable a provider runs. */
export const executableFor = (provider: ProviderName) => (provider === 'tailscale' ? 'tailscale' : 'cloudflared')

/** Config gates only (no PATH lookup): null when `provider` is fully configured. */
export function configProblem(remote: RemoteAccessSettings, provider: ProviderName | null): Prerequisite | null {
  if (!provider) {
    return { code: 'provider_missing', message: 'Cannot start a tunnel: no provider is selected (set remoteAccess.activeProvider with POST /api/remote/provider/activate)' }
  }
  if (provider === 'tailscale') {
    const ts = remote.providers.tailscale
    if (!ts.enabled) return { code: 'provider_not_enabled', message: `Cannot start the Tailscale tunnel: ${P}.tailscale.enabled is false` }
    const missing = [!ts.hostname && `${P}.tailscale.hostname`, !(ts.targetPort && ts.targetPort > 0) && `${P}.tailscale.targetPort`].filter(Boolean)
    if (missing.length) return { code: 'provider_not_configured', message: `Cannot start the Tailscale tunnel: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set` }
    return null
  }
  const cf = remote.providers.cloudflare
  if (!cf.enabled) return { code: 'provider_not_enabled', message: `Cannot start the Cloudflare tunnel: ${P}.cloudflare.enabled is false` }
  if (cf.quickTunnel) return null // §1.4: no account, token, name or ingress URL needed
  const missing = [
    !cf.tunnelName && `${P}.cloudflare.tunnelName`,
    !cf.ingressUrl && `${P}.cloudflare.ingressUrl`,
    !cf.tunnelToken && `${P}.cloudflare.tunnelToken`,
  ].filter(Boolean) as string[]
  if (missing.length) {
    const list = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)} are` : `${missing[0]} is`
    return { code: 'provider_not_configured', message: `Cannot start the Cloudflare named tunnel: ${list} not set (or set quickTunnel: true for a quick tunnel)` }
  }
  return null
}

/** Every gate, PATH included. Returns the executable's path when all pass. */
export function checkStart(remote: RemoteAccessSettings, provider: ProviderName | null, opts: { requireEnabled: boolean; extraDirs?: readonly string[] }): { problem: Prerequisite } | { executable: string } {
  if (opts.requireEnabled && !remote.enabled) {
    return { problem: { code: 'remote_access_disabled', message: 'Cannot start a tunnel: remoteAccess.enabled is false' } }
  }
  const problem = configProblem(remote, provider)
  if (problem) return { problem }
  const name = executableFor(provider!)
  const executable = findExecutable(name, { extraDirs: opts.extraDirs })
  if (!executable) {
    const hint = name === 'cloudflared' ? ' (see GET /api/remote/providers/cloudflare/detect for install commands)' : ' (install Tailscale: https://tailscale.com/download)'
    return { problem: { code: 'runtime_prerequisite_missing', message: `Cannot start the tunnel: the "${name}" executable is not on PATH${hint}` } }
  }
  return { executable }
}
