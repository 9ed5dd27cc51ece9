/** What the dashboard's status and "Connect a device" panels show. */
import type { Services } from '../context.ts'
import { BadRequestError } from '../errors.ts'
import { connectCandidates, connectLink, remoteAccessOn, type ConnectAddress } from './connect-address.ts'

export function describeAccess(s: Services) {
  const c = s.config
  return {
    mode: s.mode,
    bindHost: c.host,
    port: s.ports.dashboard,
    apiPort: s.ports.api,
    remoteAccess: remoteAccessOn(c.host, s.network.opened()),
    /** Addresses opened from the dashboard since start (until latchkey stops). */
    opened: s.network.opened(),
    /** Whether any device has ever signed in (a session from a token or a login link). */
    deviceEverSignedIn: s.settings.get().firstSignInAt !== null,
    tokenRequired: !c.insecureNoAuth,
    tokenFixed: s.accessToken.fixed,
    insecureNoAuth: c.insecureNoAuth,
    allowedOrigins: c.allowedOrigins,
    apiBase: c.apiBase || null,
  }
}

/**
 * The connect link for the chosen address (the best candidate unless `address` names
 * another one), with every candidate so the user can switch. The token is in the link only
 * for the local user (token-guard reference: the panel is shown to the local user).
 */
export function connectInfo(s: Services, local: boolean, address?: string) {
  const c = s.config
  const candidates = connectCandidates(c.host, c.allowedOrigins, s.network.opened())
  const choice = pick(candidates, address)
  if (!choice) {
    return {
      address: null,
      source: null,
      candidates: [] as ConnectAddress[],
      url: null,
      tokenIncluded: false,
      message: remoteAccessOn(c.host, s.network.opened())
        ? 'No concrete address found for this machine: open the dashboard on the other device and type the token'
        : `latchkey listens on ${c.host} only: open it on one of this machine's addresses below (until latchkey stops), or start a tunnel, to connect another device`,
    }
  }
  const token = c.insecureNoAuth ? null : s.accessToken.value
  return {
    address: choice.address,
    source: choice.source,
    candidates,
    url: local ? connectLink(choice.address, s.ports.dashboard, token) : null,
    tokenIncluded: local && token !== null,
    message: local ? 'Scan with the other device, or open the link there. The link contains the access token: treat it as a secret' : 'The connect link is shown to the local user only',
  }
}

/** The candidate `address` names (400 when it names none), else the best one. */
export function pick(candidates: ConnectAddress[], address?: string): ConnectAddress | null {
  if (address === undefined || address === '') return candidates[0] ?? null
  const found = candidates.find((c) => c.address.toLowerCase() === address.replace(/^\[|\]$/g, '').toLowerCase())
  if (!found) throw new BadRequestError('address', '"address" must be one of the candidates GET /api/connect lists')
  return found
}
