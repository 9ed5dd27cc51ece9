/**
 * The one table of operator options: flag, env var, YAML key, type, default and help.
 * Parsing, precedence (flag > env > YAML > default), `--help` and latchkey.example.yaml
 * all come from it.
 */
import { UsageError } from './errors.ts'

export type OptionType = 'string' | 'port' | 'bool' | 'list' | 'path' | 'url' | 'enum' | 'secret' | 'apps' | 'nonneg' | 'webhooks'

export interface OptionSpec {
  key: string
  flag?: string
  env?: string
  /** Dotted path in latchkey.yaml; absent for options that make no sense in the file. */
  yaml?: string
  type: OptionType
  default: unknown
  values?: readonly string[]
  /** A flag that may be given more than once (values accumulate). */
  repeatable?: boolean
  help: string
  /** Format and reason shown in latchkey.example.yaml. */
  example?: string
  /** The default as `--help` states it, where the value alone would mislead. */
  defaultHelp?: string
}

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: '--host', env: 'LATCHKEY_HOST', yaml: 'host', type: 'string', default: '127.0.0.1',
    // src/container/container-mode.ts: a container binds every interface, so port mapping works.
    defaultHelp: '127.0.0.1; 0.0.0.0 in a container, with the token required',
    help: 'Address to listen on; anything but loopback turns remote access (and the token) on' },
  { key: 'port', flag: '--port', env: 'LATCHKEY_PORT', yaml: 'port', type: 'port', default: 3000,
    help: 'Dashboard port (serves the dashboard, /api and path-mode apps)' },
  { key: 'apiPort', flag: '--api-port', env: 'LATCHKEY_API_PORT', yaml: 'apiPort', type: 'port', default: 8000,
    help: 'API port (serves /api only); 0 picks a free port' },
  { key: 'allowedOrigins', flag: '--allowed-origins', env: 'LATCHKEY_ALLOWED_ORIGINS', yaml: 'allowedOrigins', type: 'list', default: [],
    help: 'Comma-separated hostnames, IPs or origins allowed to load the dashboard and call the API cross-origin' },
  { key: 'authToken', flag: '--auth-token', env: 'LATCHKEY_AUTH_TOKEN', type: 'secret', default: undefined,
    help: 'Fixed access token instead of a random one per start (prefer the env var: argv is visible to other users)' },
  { key: 'insecureNoAuth', flag: '--insecure-no-auth', env: 'LATCHKEY_INSECURE_NO_AUTH', yaml: 'insecureNoAuth', type: 'bool', default: false,
    help: 'Turn the access token off on direct listeners (trusted private networks only; tunnels still need a credential; refused in a container unless --insecure-no-auth-in-container)' },
  { key: 'insecureNoAuthInContainer', flag: '--insecure-no-auth-in-container', env: 'LATCHKEY_INSECURE_NO_AUTH_IN_CONTAINER', type: 'bool', default: false,
    help: 'Allow --insecure-no-auth inside a container too, where a port mapping publishes latchkey on every interface of the host; not read from latchkey.yaml' },
  { key: 'apiBase', flag: '--api-base', env: 'LATCHKEY_API_BASE', yaml: 'apiBase', type: 'url', default: '',
    help: 'Where the dashboard calls the API (e.g. http://localhost:8000); default: the page\'s own origin' },
  { key: 'trustedProxies', flag: '--trusted-proxies', env: 'LATCHKEY_TRUSTED_PROXIES', yaml: 'trustedProxies', type: 'list', default: [],
    help: 'Comma-separated proxy addresses whose X-Forwarded-For / Forwarded headers name the client (the right-most address that is not a listed proxy); a request through a proxy is never the local user' },
  { key: 'dataDir', flag: '--data-dir', env: 'LATCHKEY_HOME', type: 'path', default: '~/.latchkey',
    help: 'Folder for settings.json, latchkey.yaml, sessions and logs' },
  { key: 'config', flag: '--config', env: 'LATCHKEY_CONFIG', type: 'path', default: '',
    help: 'Operator config file (default: <data dir>/latchkey.yaml, optional)' },
  { key: 'noTui', flag: '--no-tui', env: 'LATCHKEY_NO_TUI', type: 'bool', default: false,
    help: 'Plain log lines instead of the terminal interface (also when stdout is not a TTY)' },
  { key: 'logLevel', flag: '--log-level', env: 'LATCHKEY_LOG_LEVEL', yaml: 'logLevel', type: 'enum', values: ['debug', 'info', 'warn', 'error'], default: 'info',
    help: 'Least severe log level printed' },
  { key: 'admins', yaml: 'admins', type: 'list', default: [],
    help: 'Tailscale UserProfile.ID values with the admin role (find yours at /api/whoami)' },
  { key: 'adminAllowLocalhost', flag: '--admin-allow-localhost', env: 'LATCHKEY_ADMIN_ALLOW_LOCALHOST', yaml: 'adminAllowLocalhost', type: 'bool', default: false,
    help: 'With admins set: loopback and RFC 1918 peers are admin too (bootstrapping only)' },
  { key: 'apiKey', env: 'LATCHKEY_API_KEY', yaml: 'apiKey', type: 'secret', default: undefined,
    help: 'Static API key (Authorization: Bearer) with the admin role' },
  { key: 'apiKeyFile', flag: '--api-key-file', env: 'LATCHKEY_API_KEY_FILE', yaml: 'apiKeyFile', type: 'path', default: '',
    help: 'File holding the API key; wins over apiKey' },
  { key: 'tailscaleIdentity', yaml: 'tailscale.identity', env: 'LATCHKEY_TAILSCALE_IDENTITY', type: 'enum', values: ['auto', 'off'], default: 'auto',
    help: 'Resolve tailnet peers with the Tailscale LocalAPI WhoIs' },
  { key: 'tailscaleSocket', flag: '--tailscale-socket', env: 'LATCHKEY_TAILSCALE_SOCKET', yaml: 'tailscale.socket', type: 'path', default: '/var/run/tailscale/tailscaled.sock',
    help: 'tailscaled LocalAPI socket' },
  { key: 'trustServeHeaders', yaml: 'tailscale.trustServeHeaders', type: 'bool', default: false,
    help: 'Believe Tailscale-User-* headers on the Tailscale ingress (any local process can reach that port)' },
  { key: 'tunnelGraceMs', yaml: 'tunnels.graceMs', env: 'LATCHKEY_TUNNEL_GRACE_MS', type: 'nonneg', default: 5000,
    help: 'How long a stopping tunnel may take before it is killed' },
  { key: 'tunnelStartTimeoutMs', yaml: 'tunnels.startTimeoutMs', env: 'LATCHKEY_TUNNEL_START_TIMEOUT_MS', type: 'nonneg', default: 30000,
    help: 'How long a starting tunnel may take to become ready before it is marked failed' },
  { key: 'cloudflareIngressPort', flag: '--cloudflare-ingress-port', env: 'LATCHKEY_CLOUDFLARE_INGRESS_PORT', yaml: 'tunnels.cloudflareIngressPort', type: 'port', default: 0,
    help: 'Fixed port of the Cloudflare ingress on 127.0.0.1, for a tunnel whose ingress rule is set in the Cloudflare dashboard (http://127.0.0.1:PORT); 0 picks one' },
  { key: 'cloudflaredManifest', yaml: 'tunnels.cloudflaredManifest', env: 'LATCHKEY_CLOUDFLARED_MANIFEST', type: 'path', default: '',
    help: 'Pinned cloudflared download manifest (URL + sha256 per platform) for the one-click install; default: the one shipped with latchkey' },
  { key: 'apps', flag: '--app', yaml: 'apps', type: 'apps', default: [], repeatable: true,
    help: 'A local web app to put behind latchkey: name=http://127.0.0.1:PORT (repeatable)' },
  { key: 'appTimeoutMs', yaml: 'appTimeoutMs', env: 'LATCHKEY_APP_TIMEOUT_MS', type: 'nonneg', default: 300000,
    help: 'How long a proxied app may stay silent (no response yet: 502; a response that sends nothing: the connection is cut) unless the app sets its own timeout (seconds); long polls need more than nginx\'s 60 s' },
  { key: 'webhooks', yaml: 'webhooks', type: 'webhooks', default: [],
    help: 'HTTP(S) endpoints told about sign-ins, revocations, tunnel changes and refused admin actions (url, events, secretFile)' },
  { key: 'webhookRetryMs', yaml: 'webhookRetryMs', env: 'LATCHKEY_WEBHOOK_RETRY_MS', type: 'nonneg', default: 1000,
    help: 'First retry delay of a failed webhook delivery (doubles each time, 5 attempts in all)' },
  { key: 'containerRoot', env: 'LATCHKEY_CONTAINER_ROOT', type: 'path', default: '/',
    help: 'Where to look for container markers (/.dockerenv, /proc/1/cgroup, /run/.containerenv)' },
]

const byFlag = new Map(OPTIONS.filter((o) => o.flag).map((o) => [o.flag!, o]))

export const COMMANDS = ['run', 'serve', 'doctor', 'service', 'tunnel', 'reload', 'help', 'version'] as const
export type Command = (typeof COMMANDS)[number]

export interface ParsedArgs {
  command: Command
  args: string[]
  flags: Map<string, unknown>
  help: boolean
  version: boolean
}

/** Levenshtein distance, for "did you mean" hints. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]
}

/** The closest of `candidates` to `word`, when close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase())
    if (d < bestD) [best, bestD] = [c, d]
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/**
 * Convert one raw string (from a flag or env var) to the option's type.
 * `origin` names where it came from, for the error message.
 */
export function coerce(spec: OptionSpec, raw: string, origin: string): unknown {
  const fail = (why: string): never => {
    throw new UsageError(`Invalid ${origin}: ${why}`)
  }
  switch (spec.type) {
    case 'port': {
      if (!/^\d+$/.test(raw)) fail(`"${spec.key}" must be a port number 0-65535`)
      const n = Number(raw)
      if (n > 65535) fail(`"${spec.key}" must be a port number 0-65535`)
      return n
    }
    case 'nonneg': {
      if (!/^\d+$/.test(raw)) fail(`"${spec.key}" must be a whole number of milliseconds`)
      return Number(raw)
    }
    case 'bool': {
      const v = raw.toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) return true
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false
      return fail(`"${spec.key}" must be true or false`)
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean)
    case 'enum':
      if (!spec.values!.includes(raw)) fail(`"${spec.key}" must be one of ${spec.values!.join(', ')}`)
      return raw
    case 'url':
      if (raw !== '' && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(raw)) fail(`"${spec.key}" must be an http:// or https:// URL`)
      return raw.replace(/\/+$/, '')
    case 'secret':
      if (raw.length === 0) fail(`"${spec.key}" must not be empty`)
      return raw
    case 'apps':
      return [raw]
    default:
      return raw
  }
}

/** Parse argv (without the executable and script). Unknown flags are usage errors. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<string, unknown>()
  const positionals: string[] = []
  let help = false
  let version = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (arg === '-h' || arg === '--help') { help = true; continue }
    if (arg === '-v' || arg === '--version') { version = true; continue }
    if (!arg.startsWith('-')) { positionals.push(arg); continue }
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    const spec = byFlag.get(name)
    if (!spec) {
      const hint = didYouMean(name, byFlag.keys())
      throw new UsageError(`Unknown option "${name}"${hint ? `: did you mean "${hint}"?` : ''} (see latchkey --help)`)
    }
    let raw: string
    if (eq !== -1) raw = arg.slice(eq + 1)
    else if (spec.type === 'bool') raw = 'true'
    else {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && argv[i + 1].length > 2)) {
        throw new UsageError(`Option "${name}" needs a value`)
      }
      raw = argv[++i]
    }
    const value = coerce(spec, raw, `option "${name}"`)
    if (spec.repeatable) flags.set(spec.key, [...((flags.get(spec.key) as unknown[]) ?? []), ...(value as unknown[])])
    else flags.set(spec.key, value)
  }
  let command: Command = 'run'
  if (positionals.length > 0) {
    const first = positionals[0]
    if (!(COMMANDS as readonly string[]).includes(first)) {
      const hint = didYouMean(first, COMMANDS)
      throw new UsageError(`Unknown command "${first}"${hint ? `: did you mean "${hint}"?` : ''} (see latchkey --help)`)
    }
    command = first as Command
    positionals.shift()
  }
  if (command === 'help') help = true
  if (command === 'version') version = true
  return { command, args: positionals, flags, help, version }
}

function describeDefault(o: OptionSpec): string {
  if (o.defaultHelp) return ` (default: ${o.defaultHelp})`
  if (o.default === undefined || o.default === '') return ''
  if (Array.isArray(o.default)) return o.default.length ? ` (default: ${o.default.join(',')})` : ''
  return ` (default: ${String(o.default)})`
}

/** `latchkey --help`: every flag with its env var and default. */
export function helpText(version: string): string {
  const lines = [
    `latchkey ${version}: put your local dashboard and web apps on your phone, safely`,
    '',
    'Usage:',
    '  latchkey [options]                 start (dashboard on :3000, API on :8000)',
    '  latchkey serve [options]           headless: API only, no dashboard, no terminal UI',
    '  latchkey doctor [options]          check this machine\'s setup, one line each with a fix',
    '  latchkey service install [options] run "latchkey serve [options]" at login (systemd or launchd)',
    '  latchkey service uninstall         remove that service',
    '  latchkey tunnel start|stop|status  control the tunnel of the latchkey running on this machine',
    '  latchkey reload [--data-dir DIR]   apply latchkey.yaml to the running latchkey (as SIGHUP or saving the file does)',
    '',
    'Options (precedence: flag > environment > latchkey.yaml > default):',
  ]
  for (const o of OPTIONS.filter((o) => o.flag)) {
    const arg = o.type === 'bool' ? '' : o.type === 'port' ? ' PORT' : o.type === 'list' ? ' A,B' : ' VALUE'
    lines.push(`  ${(o.flag + arg).padEnd(30)} ${o.help}${describeDefault(o)}${o.env ? `  [env ${o.env}]` : ''}`)
  }
  lines.push('  -h, --help                     Show this help', '  -v, --version                  Print the version and commit')
  lines.push('', 'latchkey.yaml only: ' + OPTIONS.filter((o) => o.yaml && !o.flag).map((o) => o.yaml).join(', '))
  return lines.join('\n')
}
