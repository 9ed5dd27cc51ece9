/** What the dashboard's status and "Connect a device" panels show. */
import type { Services } from '../context.ts'
import { chooseConnectAddress, connectLink, remoteAccessOn } from './connect-address.ts'

export function describeAccess(s: Services) {
  const c = s.config
  return {
    mode: s.mode,
    bindHost: c.host,
    port: s.ports.dashboard,
    apiPort: s.ports.api,
    remoteAccess: remoteAccessOn(c.host),
    tokenRequired: !c.insecureNoAuth,
    tokenFixed: s.accessToken.fixed,
    insecureNoAuth: c.insecureNoAuth,
    allowedOrigins: c.allowedOrigins,
    apiBase: c.apiBase || null,
  }
}

/**
 * The connect link for the current best address. The token is in it only for the local
 * user (token-guard reference: the panel is shown to the local user).
 */
export function connectInfo(s: Services, local: boolean) {
  const c = s.config
  const choice = chooseConnectAddress(c.host, c.allowedOrigins)
  if (!choice) {
    return {
      address: null,
      source: null,
      url: null,
      tokenIncluded: false,
      message: remoteAccessOn(c.host)
        ? 'No concrete address found for this machine: open the dashboard on the other device and type the token'
        : `latchkey listens on ${c.host} only: restart with --host 0.0.0.0 (or start a tunnel) to connect another device`,
    }
  }
  const token = c.insecureNoAuth ? null : s.accessToken.value
  return {
    address: choice.address,
    source: choice.source,
    url: local ? connectLink(choice.address, s.ports.dashboard, token) : null,
    tokenIncluded: local && token !== null,
    message: local ? 'Scan with the other device, or open the link there. The link contains the access token: treat it as a secret' : 'The connect link is shown to the local user only',
  }
}
