/**
 * Funnel/serve bindings that latchkey did not start (runbook §2.3 `externalTunnel`, §4.1 "Use
 * Existing / Start Fresh"). Found with `tailscale funnel status --json`, which prints the
 * ServeConfig, foreground sessions under `Foreground` (facts §3.3); turned off with
 * `tailscale funnel|serve --https=N off` for background handlers and `reset` for the rest.
 */
import { findExecutable } from './find-executable.ts'
import { runCommand } from './run-command.ts'

export interface ExternalTunnel {
  provider: 'tailscale'
  url: string
  /** Every binding found, as public URLs. */
  urls: string[]
  funnel: boolean
}

interface ServeConfig {
  TCP?: Record<string, { HTTPS?: boolean; HTTP?: boolean }>
  Web?: Record<string, { Handlers?: Record<string, unknown> }>
  AllowFunnel?: Record<string, boolean>
  Foreground?: Record<string, ServeConfig>
}

interface Binding {
  url: string
  port: number
  https: boolean
  funnel: boolean
  mounts: string[]
  foreground: boolean
}

export interface ExternalOptions {
  extraDirs?: string[]
  env?: NodeJS.ProcessEnv
  socket?: string
}

const globalFlags = (o: ExternalOptions) => (o.socket ? [`--socket=${o.socket}`] : [])

function bindings(sc: ServeConfig, foreground: boolean): Binding[] {
  const out: Binding[] = []
  for (const [key, web] of Object.entries(sc.Web ?? {})) {
    const i = key.lastIndexOf(':')
    const host = key.slice(0, i)
    const port = Number(key.slice(i + 1))
    const https = sc.TCP?.[String(port)]?.HTTP ? false : true
    const omit = (https && port === 443) || (!https && port === 80) // facts §3.1
    out.push({
      url: `${https ? 'https' : 'http'}://${host}${omit ? '' : `:${port}`}`,
      port,
      https,
      funnel: Boolean(sc.AllowFunnel?.[key]),
      mounts: Object.keys(web.Handlers ?? {}),
      foreground,
    })
  }
  return out
}

async function readBindings(o: ExternalOptions): Promise<{ exe: string; list: Binding[] } | null> {
  const exe = findExecutable('tailscale', { extraDirs: o.extraDirs, path: o.env?.PATH })
  if (!exe) return null
  const r = await runCommand(exe, [...globalFlags(o), 'funnel', 'status', '--json'], { env: o.env, timeoutMs: 3000 })
  if (r.code !== 0) return null
  let sc: ServeConfig
  try {
    sc = JSON.parse(r.stdout || '{}') as ServeConfig
  } catch {
    return null
  }
  const list = bindings(sc, false)
  for (const fg of Object.values(sc.Foreground ?? {})) list.push(...bindings(fg, true))
  return { exe, list }
}

/** The funnel/serve bindings currently on this node, or null when there are none (or no tailscale). */
export async function detectExternalTunnel(o: ExternalOptions): Promise<ExternalTunnel | null> {
  const found = await readBindings(o)
  if (!found || found.list.length === 0) return null
  const first = found.list.find((b) => b.funnel) ?? found.list[0]
  return { provider: 'tailscale', url: first.url, urls: [...new Set(found.list.map((b) => b.url))], funnel: found.list.some((b) => b.funnel) }
}

/** Turn every binding off; returns the URLs that were turned off. */
export async function killExternalTunnels(o: ExternalOptions): Promise<string[]> {
  const found = await readBindings(o)
  if (!found) return []
  const killed: string[] = []
  for (const b of found.list.filter((x) => !x.foreground)) {
    for (const mount of b.mounts) {
      const args = [...globalFlags(o), b.funnel ? 'funnel' : 'serve', `--${b.https ? 'https' : 'http'}=${b.port}`]
      if (mount !== '/') args.push(`--set-path=${mount}`)
      args.push('off')
      const r = await runCommand(found.exe, args, { env: o.env, timeoutMs: 5000 })
      if (r.code === 0) killed.push(b.url)
    }
  }
  // Foreground sessions belong to another running CLI: only a reset removes them (facts §3.3).
  if (found.list.some((x) => x.foreground)) {
    const r = await runCommand(found.exe, [...globalFlags(o), 'funnel', 'reset'], { env: o.env, timeoutMs: 5000 })
    if (r.code === 0) killed.push(...found.list.filter((x) => x.foreground).map((x) => x.url))
  }
  return [...new Set(killed)]
}
