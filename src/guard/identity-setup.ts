/**
 * Start-up of the identity sources: the Tailscale WhoIs lookup (only with
 * `tailscale.identity: auto`) and the lines that tell the operator, once, how identity is
 * decided and which settings widen it. No secret is ever part of these lines.
 */
import { existsSync } from 'node:fs'
import type { Config } from '../config/resolve.ts'
import type { Logger } from '../log.ts'
import { createLocalApiClient } from '../tailscale/localapi-client.ts'
import { createWhois, type Whois } from '../tailscale/whois.ts'
import { shortSecretWarnings } from '../config/short-secrets.ts'

/** The WhoIs lookup for the guard, or undefined when Tailscale identity is off. */
export function tailscaleWhois(config: Config, log: Logger): Whois | undefined {
  if (config.tailscaleIdentity !== 'auto') return undefined
  return createWhois({
    client: createLocalApiClient({ socketPath: config.tailscaleSocket }),
    onFailure: (err) => log.warn('tailscale whois failed: tailnet peers have no identity until it works', { socket: config.tailscaleSocket, why: err.message }),
  })
}

/** The identity lines printed at start-up. */
export function logIdentitySetup(config: Config, log: Logger): void {
  if (config.tailscaleIdentity === 'auto') {
    const found = existsSync(config.tailscaleSocket)
    log.info(found ? 'tailscale identity: WhoIs through the LocalAPI' : 'tailscale identity: LocalAPI socket not found; tailnet peers have no identity until tailscaled runs', { socket: config.tailscaleSocket })
  } else {
    log.info('tailscale identity off (tailscale.identity: off)')
  }
  if (config.admins.length > 0) log.info('admins configured', { admins: config.admins.join(',') })
  else log.info('no admins configured: the local user is admin, tailnet users are viewers (find an ID at /api/whoami)')
  if (config.adminAllowLocalhost) {
    // Admin-allowlist reference: "Only enable this temporarily — any process on the host or
    // Docker network can then call admin endpoints."
    log.warn('adminAllowLocalhost is on: loopback and private-network (RFC 1918) peers are admin; turn it off once your ID is in admins')
  }
  if (config.apiKey) log.info('API key configured', { from: config.apiKeyFile ? 'apiKeyFile' : config.sources.apiKey === 'env' ? 'LATCHKEY_API_KEY' : 'apiKey' })
  for (const warning of shortSecretWarnings(config)) log.warn(warning)
  if (config.trustServeHeaders) {
    log.warn('tailscale.trustServeHeaders is on: Tailscale-User-* headers on the Tailscale ingress are believed (any local process can reach that port)')
  }
}
