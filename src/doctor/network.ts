/**
 * Doctor checks on the network side: the ports are free, the bind address and the token
 * agree, and the address a phone would use (the same choice the banner's QR code makes).
 */
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/resolve.ts'
import { isAlive } from '../config/instance-lock.ts'
import { chooseConnectAddress, connectLink, isLoopbackHost, isWildcard } from '../connect/connect-address.ts'
import type { CheckResult } from './check.ts'
import { containerRefusal } from '../container/container-mode.ts'

/** The pid of a latchkey running on this data dir, if any (its lock file, see instance-lock.ts). */
export function runningInstance(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'latchkey.pid'), 'utf8').trim())
    return isAlive(pid) && pid !== process.pid ? pid : null
  } catch {
    return null
  }
}

/** Try to listen where latchkey would; resolves to the error code, or null when it could. */
export function tryListen(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    server.listen({ host: host.replace(/^\[|\]$/g, ''), port, exclusive: true }, () => server.close(() => resolve(null)))
  })
}

export async function checkPort(name: string, flag: string, host: string, port: number, runningPid: number | null): Promise<CheckResult> {
  if (port === 0) return { name, status: 'ok', detail: 'port 0: a free port is picked at each start' }
  const code = await tryListen(host, port)
  const where = `${port} on ${host}`
  if (code === null) return { name, status: 'ok', detail: `${where} is free` }
  if (code === 'EADDRINUSE') {
    if (runningPid !== null) return { name, status: 'info', detail: `${where} is in use, by the latchkey already running here (pid ${runningPid})` }
    return { name, status: 'fail', detail: `${where} is in use by another program`, fix: `stop that program (see: ss -ltnp "sport = :${port}"), or pick another port with ${flag} N` }
  }
  if (code === 'EACCES') return { name, status: 'fail', detail: `${where} needs privileges`, fix: `ports below 1024 need root: use ${flag} ${flag === '--port' ? 3000 : 8000}` }
  if (code === 'EADDRNOTAVAIL') return { name, status: 'fail', detail: `${host} is not an address of this machine`, fix: '--host 0.0.0.0 (every interface), 127.0.0.1, or an address shown by "ip addr"' }
  return { name, status: 'fail', detail: `cannot listen on ${where} (${code})`, fix: `pick another port with ${flag} N` }
}

/** What being in a container changes (src/container/container-mode.ts); null on a plain host. */
export function checkContainer(config: Config): CheckResult | null {
  const c = config.container
  if (!c) return null
  const name = 'container'
  const found = `${c.runtime} (from ${c.marker})`
  if (config.sources.host === 'default') {
    return { name, status: 'ok', detail: `${found}: listening on all interfaces (${config.host}) so port mapping works, where a plain host would use 127.0.0.1; --host chooses` }
  }
  if (isLoopbackHost(config.host)) {
    return { name, status: 'info', detail: `${found}: listening on ${config.host} as you set it, so a port mapping cannot reach latchkey (only this container can)` }
  }
  return { name, status: 'ok', detail: `${found}: listening on ${config.host} as you set it` }
}

/** With remote access on, a credential must guard it (token-guard reference: loopback exempt, others need the token). */
export function checkBind(config: Config): CheckResult {
  const name = 'bind and token'
  if (containerRefusal(config)) {
    return { name, status: 'fail', detail: 'latchkey will not start: --insecure-no-auth is refused inside a container', fix: 'drop --insecure-no-auth (the token then guards it), or add --insecure-no-auth-in-container if every network that reaches this container is trusted' }
  }
  if (isLoopbackHost(config.host)) {
    return { name, status: 'ok', detail: `listening on ${config.host} only: no token needed on this machine; other devices come through a tunnel or ssh -L` }
  }
  if (config.insecureNoAuth) {
    return { name, status: 'warn', detail: `listening on ${config.host} with --insecure-no-auth: anyone who reaches this host gets in without a token`, fix: 'drop --insecure-no-auth (the token then guards it), or listen on a trusted address such as the tailnet IP only' }
  }
  if (config.authToken !== undefined && config.authToken.length < 16) {
    return { name, status: 'fail', detail: `listening on ${config.host} with a fixed token of only ${config.authToken.length} characters`, fix: 'use a long random token (LATCHKEY_AUTH_TOKEN="$(openssl rand -hex 24)"), or drop it to get a random one per start' }
  }
  const token = config.authToken !== undefined ? `a fixed token (${config.sources.authToken === 'flag' ? '--auth-token' : 'LATCHKEY_AUTH_TOKEN'})` : 'a new random token at each start'
  const always = config.container ? ' (always, in a container)' : ''
  return { name, status: 'ok', detail: `listening on ${config.host}: remote access is on and other devices need ${token}${always}` }
}

/** The address a phone would open, as the banner and the "Connect a device" panel choose it. */
export function checkConnectAddress(config: Config, tailnetIp: string | null): CheckResult {
  const name = 'connect address'
  const port = config.port || 3000
  if (isLoopbackHost(config.host)) {
    const tailnet = tailnetIp ? `; or listen on the tailnet with --host ${tailnetIp}` : ''
    return { name, status: 'info', detail: `none while listening on ${config.host}: from a phone use a tunnel (dashboard, Remote access), or from a laptop ssh -L ${port}:127.0.0.1:${port} this-host${tailnet}` }
  }
  const choice = chooseConnectAddress(config.host, config.allowedOrigins)
  if (!choice) {
    return { name, status: 'warn', detail: 'no address to put in the QR code: the phone user has to type the address and the token', fix: '--allowed-origins NAME-OR-IP (the address a phone can reach), or --host with that address' }
  }
  const from = { host: '--host', 'allowed-origins': 'the first --allowed-origins entry', opened: 'an address opened from the dashboard', tailnet: 'the tailnet address', 'default-route': 'the interface of the default route', interface: 'a network interface' }[choice.source]
  const also = isWildcard(config.host) && tailnetIp && tailnetIp !== choice.address ? ` (on the tailnet: ${connectLink(tailnetIp, port, null)})` : ''
  return { name, status: 'ok', detail: `${connectLink(choice.address, port, null)} from ${from}${also}` }
}
