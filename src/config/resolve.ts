/**
 * Resolves the operator configuration from flags, environment, latchkey.yaml and defaults
 * (in that order of precedence) into one typed object, recording where each value came from.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { OPTIONS, coerce, type ParsedArgs } from '../cli.ts'
import { ConfigError, UsageError } from '../errors.ts'
import { parseAppFlag, AppConfigError, type AppSpec } from '../apps/app-config.ts'
import { expandHome } from './data-dir.ts'
import { loadYamlConfig } from './yaml-config.ts'
import type { WebhookSpec } from '../webhooks/webhook-config.ts'
import type { ContainerInfo } from '../container/detect.ts'

export type Source = 'flag' | 'env' | 'yaml' | 'default'

export interface Config {
  host: string
  port: number
  apiPort: number
  allowedOrigins: string[]
  authToken?: string
  insecureNoAuth: boolean
  /** Allows insecureNoAuth inside a container (src/container/container-mode.ts). */
  insecureNoAuthInContainer: boolean
  apiBase: string
  trustedProxies: string[]
  dataDir: string
  configPath: string
  noTui: boolean
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  admins: string[]
  adminAllowLocalhost: boolean
  apiKey?: string
  apiKeyFile: string
  tailscaleIdentity: 'auto' | 'off'
  tailscaleSocket: string
  trustServeHeaders: boolean
  tunnelGraceMs: number
  tunnelStartTimeoutMs: number
  cloudflareIngressPort: number
  apps: AppSpec[]
  /** How long a proxied app may stay silent, unless it sets its own `timeout`. */
  appTimeoutMs: number
  /** latchkey.yaml `webhooks:` (secrets stay in their files until start-up reads them). */
  webhooks: WebhookSpec[]
  webhookRetryMs: number
  /** Where container markers are looked for (default /). */
  containerRoot: string
  /** Set by start-up (src/container/) when latchkey runs in a container. */
  container?: ContainerInfo | null
  /** Where each option's value came from. */
  sources: Record<string, Source>
}

/** Resolve the configuration. `env` is the process environment (passed in for tests). */
export function resolveConfig(args: ParsedArgs, env: Record<string, string | undefined>): Config {
  const pick = (key: string): [unknown, Source] => {
    const spec = OPTIONS.find((o) => o.key === key)!
    if (args.flags.has(key)) return [args.flags.get(key), 'flag']
    const raw = spec.env ? env[spec.env] : undefined
    if (raw !== undefined && raw !== '') return [coerce(spec, raw, `environment variable ${spec.env}`), 'env']
    return [spec.default, 'default']
  }
  const dataDir = resolveDataDir(args, env)
  const [configRaw, configSource] = pick('config')
  const configPath = configRaw ? expandHome(String(configRaw)) : join(dataDir, 'latchkey.yaml')
  const yaml = loadYamlConfig(configPath, configSource !== 'default')

  const values: Record<string, unknown> = {}
  const sources: Record<string, Source> = {}
  for (const spec of OPTIONS) {
    let [value, source] = pick(spec.key)
    if (source === 'default' && yaml.has(spec.key)) [value, source] = [yaml.get(spec.key), 'yaml']
    values[spec.key] = value
    sources[spec.key] = source
  }
  values.dataDir = dataDir
  values.configPath = configPath

  // Apps: the file's list plus every --app; a name may appear once.
  const flagApps = ((args.flags.get('apps') as string[] | undefined) ?? []).map((raw) => {
    try {
      return parseAppFlag(raw)
    } catch (err) {
      throw new UsageError(err instanceof AppConfigError ? err.message : String(err))
    }
  })
  const apps = [...((yaml.get('apps') as AppSpec[] | undefined) ?? []), ...flagApps]
  const seen = new Set<string>()
  for (const app of apps) {
    if (seen.has(app.name)) throw new UsageError(`App "${app.name}" is defined twice (latchkey.yaml and --app, or twice in one)`)
    seen.add(app.name)
  }
  values.apps = apps

  // apiKeyFile wins over apiKey (admin-allowlist reference).
  if (values.apiKeyFile) {
    const file = expandHome(String(values.apiKeyFile))
    try {
      const key = readFileSync(file, 'utf8').trim()
      if (!key) throw new ConfigError('the API key file is empty', { path: file })
      values.apiKey = key
    } catch (err: any) {
      if (err instanceof ConfigError) throw err
      throw new ConfigError(`cannot read the API key file (${err?.code ?? 'error'})`, { path: file })
    }
  }
  if (values.port !== 0 && values.port === values.apiPort) {
    throw new UsageError(`"port" and "apiPort" must differ (both are ${values.port})`)
  }
  return { ...(values as unknown as Config), sources }
}

/**
 * The data dir alone (flag > environment > default; latchkey.yaml never sets it), for
 * commands that must find the running latchkey even when the file is broken.
 */
export function resolveDataDir(args: ParsedArgs, env: Record<string, string | undefined>): string {
  const spec = OPTIONS.find((o) => o.key === 'dataDir')!
  const raw = env[spec.env!]
  const value = args.flags.has('dataDir') ? args.flags.get('dataDir') : raw ? coerce(spec, raw, `environment variable ${spec.env}`) : spec.default
  return expandHome(String(value))
}
