/** What latchkey prints at start: where it listens and, with remote access on, how to connect. */
import type { Services } from './context.ts'
import { chooseConnectAddress, connectLink, remoteAccessOn } from './connect/connect-address.ts'
import { containerBannerLine } from './container/container-mode.ts'
import { shortSecretWarnings } from './config/short-secrets.ts'
import { stdoutIsTerminal } from './terminal-check.ts'

const RULE = '─'.repeat(62)

export function insecureWarning(what = 'the dashboard'): string {
  return [
    `⚠ WARNING: --insecure-no-auth — ${what} is exposed to the`,
    'network with NO access token. Anyone who can reach this host can',
    'read your data and change settings. Only use this on a fully',
    'trusted private network (e.g. a tailnet). Tunnels still require a credential.',
  ].join('\n')
}

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host)

export async function banner(s: Services): Promise<string> {
  const c = s.config
  const shown = ['0.0.0.0', '::'].includes(c.host) ? '127.0.0.1' : c.host
  const headless = s.mode === 'headless'
  const lines: string[] = [`latchkey ${s.version}`]
  if (!headless) lines.push(`  dashboard  http://${urlHost(shown)}:${s.ports.dashboard}/`)
  lines.push(`  api        http://${urlHost(shown)}:${s.ports.api}/api`, `  data       ${c.dataDir}`)
  if (c.apps.length) lines.push(`  apps       ${c.apps.map((a) => a.name).join(', ')}`)
  const container = containerBannerLine(c)
  if (container) lines.push('', container)
  for (const warning of shortSecretWarnings(c)) lines.push('', `⚠ WARNING: ${warning}.`)
  if (!remoteAccessOn(c.host)) {
    const tunnel = headless ? 'POST /api/remote/tunnel/start' : 'the dashboard'
    lines.push('', `Listening on ${c.host} only (this machine). Use --host 0.0.0.0 to connect other devices, or start a tunnel from ${tunnel}.`)
    return lines.join('\n')
  }
  if (c.insecureNoAuth) {
    lines.push('', insecureWarning(headless ? 'the API' : 'the dashboard'))
    return lines.join('\n')
  }
  if (headless) {
    lines.push('', RULE, ...headlessAccess(s, `http://${urlHost(shown)}:${s.ports.api}`), RULE)
    return lines.join('\n')
  }
  const choice = chooseConnectAddress(c.host, c.allowedOrigins)
  lines.push('', RULE, 'Remote access is ON. Other devices must enter this token:', `  ${s.accessToken.value}`)
  if (choice) {
    const link = connectLink(choice.address, s.ports.dashboard, s.accessToken.value)
    lines.push('Or skip the typing — open this link (or scan the QR below, or the one in', "the dashboard's \"Connect a device\" panel) on the other device:", `  ${link}`)
    // The characters alone make a scannable code (light on dark, quiet zone drawn: see
    // qrTerminalLines); in a TTY colour codes pin it to white on black for light themes too.
    // The QR encoder is loaded only when a QR is drawn.
    const { qrTerminal } = await import('./connect/qr.ts')
    lines.push('', await qrTerminal(link, { color: stdoutIsTerminal() && !process.env.NO_COLOR }), '')
  } else {
    lines.push('No concrete address found for the QR code: type the token on the other device.')
  }
  lines.push(s.accessToken.fixed ? 'The token is fixed (--auth-token / LATCHKEY_AUTH_TOKEN).' : 'The token is shown once — re-run to rotate it.', RULE)
  return lines.join('\n')
}

/**
 * Remote access in headless mode prints no token, supplied or random: `latchkey serve` runs
 * under systemd, Docker or CI, where stdout is a log that others read and that outlives the
 * run, so a token there would be a live credential in a file. There is no dashboard to show a
 * link or QR either; a login link comes from the API, asked from this machine.
 */
function headlessAccess(s: Services, api: string): string[] {
  const c = s.config
  // With admins configured, the local user is admin only with adminAllowLocalhost.
  const auth = c.admins.length > 0 && !c.adminAllowLocalhost ? "-H 'Authorization: Bearer <API key>' " : ''
  return [
    'Remote access is ON (API only). Remote callers need a credential:',
    s.accessToken.fixed
      ? '  the access token you supplied (--auth-token / LATCHKEY_AUTH_TOKEN) is in force (not shown).'
      : "  this run's access token is random and never shown (this output is a log): fix one with\n  LATCHKEY_AUTH_TOKEN, or give scripts an API key (apiKeyFile in latchkey.yaml).",
    'To sign in a device, ask for a one-time login link from this machine:',
    `  curl -s -X POST ${auth}-H 'Content-Type: application/json' -d '{"mode":"short-lived","oneTime":true}' ${api}/api/remote-access/auth/login-url`,
  ]
}
