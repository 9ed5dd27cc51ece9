/**
 * The shape of one operator app (from latchkey.yaml, `--app name=url`, or the dashboard),
 * validated field by field.
 */
export interface AppSpec {
  name: string
  target: string
  /** Own listener port (port mode). */
  port?: number
  /** Path prefix on the dashboard listener (path mode), e.g. /apps/grafana. */
  path?: string
  role: 'viewer' | 'admin'
  identityHeaders: boolean
  /**
   * Seconds the app's traffic may stay silent (no response head yet, or a response that sends
   * nothing) before latchkey gives up; unset: the global `appTimeoutMs`.
   */
  timeout?: number
}

/** The longest silence an app may ask for: an hour (a long poll, a quiet event stream). */
export const MAX_APP_TIMEOUT_SECONDS = 3600

export class AppConfigError extends TypeError {
  constructor(readonly field: string, message: string) {
    super(message)
    this.name = 'AppConfigError'
  }
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/
const KEYS = new Set(['name', 'target', 'port', 'path', 'role', 'identityHeaders', 'timeout'])

/** Validate one app entry; `where` prefixes the field names in errors (e.g. "apps[0]"). */
export function parseAppEntry(raw: unknown, where: string): AppSpec {
  const fail = (field: string, why: string): never => {
    // An empty `where` (API bodies) names the field alone.
    const name = where ? `${where}.${field}` : field
    throw new AppConfigError(name, `"${name}" ${why}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AppConfigError(where || 'body', `"${where || 'body'}" must be an object with name and target`)
  }
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KEYS.has(k)) fail(k, `is not a known app field (name, target, port, path, role, identityHeaders, timeout)`)
  if (typeof o.name !== 'string' || !NAME.test(o.name)) fail('name', 'must be lowercase letters, digits and dashes (1-63)')
  if (typeof o.target !== 'string') fail('target', 'must be an http:// URL such as http://127.0.0.1:8888')
  let target: URL
  try {
    target = new URL(o.target as string)
  } catch {
    return fail('target', 'must be an http:// URL such as http://127.0.0.1:8888')
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') fail('target', 'must start with http:// or https://')
  if (target.username || target.password) fail('target', 'must not contain credentials')
  const spec: AppSpec = {
    name: o.name as string,
    target: target.origin + target.pathname.replace(/\/+$/, ''),
    role: 'viewer',
    identityHeaders: false,
  }
  if (o.port !== undefined) {
    // 0 picks a free port (shown in GET /api/apps), as --port 0 does for the dashboard.
    if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail('port', 'must be 0-65535')
    spec.port = o.port as number
  }
  if (o.path !== undefined) {
    if (typeof o.path !== 'string' || !/^\/apps\/[a-z0-9][a-z0-9-]*$/.test(o.path)) fail('path', 'must look like /apps/<name>')
    spec.path = o.path as string
  }
  if (spec.port === undefined && spec.path === undefined) spec.path = `/apps/${spec.name}`
  if (o.role !== undefined) {
    if (o.role !== 'viewer' && o.role !== 'admin') fail('role', 'must be viewer or admin')
    spec.role = o.role as AppSpec['role']
  }
  if (o.identityHeaders !== undefined) {
    if (typeof o.identityHeaders !== 'boolean') fail('identityHeaders', 'must be true or false')
    spec.identityHeaders = o.identityHeaders as boolean
  }
  if (o.timeout !== undefined) {
    if (typeof o.timeout !== 'number' || !Number.isInteger(o.timeout) || o.timeout < 1 || o.timeout > MAX_APP_TIMEOUT_SECONDS) {
      fail('timeout', `must be a whole number of seconds, 1-${MAX_APP_TIMEOUT_SECONDS}`)
    }
    spec.timeout = o.timeout as number
  }
  return spec
}

/** `--app notebook=http://127.0.0.1:8888` (path mode at /apps/notebook). */
export function parseAppFlag(raw: string): AppSpec {
  const eq = raw.indexOf('=')
  if (eq < 1) throw new AppConfigError('app', `option "--app" must look like name=http://127.0.0.1:PORT`)
  return parseAppEntry({ name: raw.slice(0, eq), target: raw.slice(eq + 1) }, `--app ${raw.slice(0, eq)}`)
}
