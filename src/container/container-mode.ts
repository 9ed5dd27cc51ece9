/**
 * What changes when latchkey runs in a container (admin-allowlist reference, "Security
 * Advisory": "When running inside Docker, the hostname is automatically overridden to 0.0.0.0
 * so port-mapped access works"):
 *
 * - With no `--host`, `LATCHKEY_HOST` or `host:` in latchkey.yaml, latchkey binds 0.0.0.0:
 *   a port mapping (`-p 3000:3000`) reaches it from the container's bridge, never from
 *   127.0.0.1. An explicit host always wins.
 * - `--insecure-no-auth` alone is refused at start-up, whatever the host: a container's
 *   "private network" is whatever the orchestrator attached it to, a port mapping publishes it
 *   on every host interface by default, and a flag copied from a laptop (where the default is
 *   loopback) would open it there without anyone deciding so. The operator who has decided
 *   (a container on a trusted LAN) says so with `--insecure-no-auth-in-container` or
 *   `LATCHKEY_INSECURE_NO_AUTH_IN_CONTAINER`: latchkey then starts open, with the same warning
 *   as anywhere else. It is not read from latchkey.yaml, because one file is often shared
 *   between a host and a container: the decision belongs to the container's own definition.
 * - `adminAllowLocalhost` admits the container bridge (172.16.0.0/12, already part of the RFC
 *   1918 ranges the guard admits), which is what makes it work with port mapping; start-up
 *   says so in its warning.
 */
import type { Config } from '../config/resolve.ts'
import type { Logger } from '../log.ts'
import { UsageError } from '../errors.ts'
import { detectContainer, type ContainerInfo } from './detect.ts'

export const CONTAINER_HOST = '0.0.0.0'

/** Detect a container and apply its host default to `config` (in place); never throws (`latchkey doctor` uses it). */
export function detectContainerMode(config: Config, env: Record<string, string | undefined>): ContainerInfo | null {
  const found = detectContainer(config.containerRoot || '/', env)
  config.container = found
  if (found && config.sources.host === 'default') config.host = CONTAINER_HOST
  return found
}

/** Why start-up refuses this config in a container, or null when it may start. */
export function containerRefusal(config: Config): string | null {
  const c = config.container
  if (!c || !config.insecureNoAuth || config.insecureNoAuthInContainer) return null
  return (
    `Cannot start with --insecure-no-auth inside a container (detected from ${c.marker}): a port mapping publishes latchkey beyond this machine. ` +
    'Drop --insecure-no-auth (LATCHKEY_INSECURE_NO_AUTH, insecureNoAuth) and sign devices in with the access token (set a fixed one with LATCHKEY_AUTH_TOKEN) or an API key, ' +
    'or, if every network that reaches this container is trusted, add --insecure-no-auth-in-container (LATCHKEY_INSECURE_NO_AUTH_IN_CONTAINER=1)'
  )
}

/** Detect a container and apply its defaults to `config` (in place). Throws when asked to start open without saying so for the container. */
export function applyContainerMode(config: Config, env: Record<string, string | undefined>): ContainerInfo | null {
  const found = detectContainerMode(config, env)
  const refused = containerRefusal(config)
  if (refused) throw new UsageError(refused)
  return found
}

/** The banner line: that a container was detected, from what, and why latchkey bound where it did. */
export function containerBannerLine(config: Config): string | null {
  const c = config.container
  if (!c) return null
  const why =
    config.sources.host === 'default'
      ? `listening on ${config.host} so port mapping works (set --host or LATCHKEY_HOST to choose)`
      : `listening on ${config.host} as ${config.sources.host === 'flag' ? '--host' : config.sources.host === 'env' ? 'LATCHKEY_HOST' : 'host in latchkey.yaml'} says`
  const token = config.insecureNoAuth ? 'NO access token on direct listeners (--insecure-no-auth-in-container)' : 'the access token is always required'
  return `Container detected (${c.runtime}, from ${c.marker}): ${why}; ${token}.`
}

/** Start-up lines about the container (the adminAllowLocalhost warning names the bridge range). */
export function logContainerMode(config: Config, log: Logger): void {
  const c = config.container
  if (!c) return
  log.info('container detected', { runtime: c.runtime, marker: c.marker, host: config.host, hostFrom: config.sources.host })
  if (config.insecureNoAuth) {
    log.warn(
      '--insecure-no-auth in a container (allowed by --insecure-no-auth-in-container): every peer that reaches a published port is admin without a token, ' +
        'from other hosts too when the port mapping publishes it on every interface; tunnels still need a credential',
    )
  }
  if (config.adminAllowLocalhost) {
    log.warn(
      'adminAllowLocalhost in a container: peers on the container bridge (172.16.0.0/12, part of RFC 1918) and every other private-network address are admin, ' +
        'so any container on the same network can call admin endpoints; turn it off once your ID is in admins',
    )
  }
}
