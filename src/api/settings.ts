/**
 * GET/PUT /api/remote/settings and GET/PUT /api/settings/global (runbook §1.1, §5): the
 * `remoteAccess` block, masked on the way out (never tunnelToken or the persistent token in
 * clear), validated field by field on the way in through the settings store (an invalid field
 * is a 400 naming it, and nothing is written).
 */
import { Elysia } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { BadRequestError } from '../errors.ts'
import { maskSecret } from '../tokens/secrets.ts'
import type { RemoteAccessSettings, Settings } from '../config/settings-schema.ts'

const noStore = (body: unknown) => Response.json(body, { headers: { 'cache-control': 'no-store' } })

/** remoteAccess as clients see it: secrets masked. */
export function maskedRemoteAccess(ra: RemoteAccessSettings) {
  return {
    ...ra,
    providers: {
      ...ra.providers,
      cloudflare: { ...ra.providers.cloudflare, tunnelToken: maskSecret(ra.providers.cloudflare.tunnelToken) },
    },
    tokenStrategy: {
      ...ra.tokenStrategy,
      persistent: { ...ra.tokenStrategy.persistent, token: maskSecret(ra.tokenStrategy.persistent.token) },
    },
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Fields latchkey manages itself: a PUT may send them back unchanged (or masked), never change them. */
const MANAGED: { path: string[]; how: string }[] = [
  { path: ['tokenStrategy', 'persistent', 'token'], how: 'use POST /api/remote/token/persistent/regenerate' },
  { path: ['lifecycle', 'wasRunningOnShutdown'], how: 'latchkey sets it' },
  { path: ['lifecycle', 'lastRunningProvider'], how: 'latchkey sets it' },
]

const getIn = (o: unknown, path: string[]) => path.reduce<unknown>((v, k) => (isObject(v) ? v[k] : undefined), o)

function deleteIn(o: Record<string, unknown>, path: string[]): void {
  const parent = getIn(o, path.slice(0, -1))
  if (isObject(parent)) delete parent[path.at(-1)!]
}

/**
 * Deep-merge a partial `patch` into `target` (objects merge, everything else replaces).
 * Note: JSON.parse makes `__proto__` an ordinary key; merged or assigned here it would reach
 * Object.prototype (every object in the process), so inherited names are refused by field.
 */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>, at: string): void {
  for (const [k, v] of Object.entries(patch)) {
    const field = `${at}.${k}`
    if (k in target && !Object.hasOwn(target, k)) throw new BadRequestError(field, `"${field}" is not a known field`)
    if (isObject(v) && isObject(target[k])) merge(target[k] as Record<string, unknown>, v, field)
    else target[k] = v
  }
}

/** Apply a partial remoteAccess; throws 400 naming the field (the store validates the rest). */
export function updateRemoteAccess(services: Services, patch: unknown, prefix = 'remoteAccess'): Settings {
  if (!isObject(patch)) throw new BadRequestError(prefix, `"${prefix}" must be an object`)
  const current = services.settings.get().remoteAccess
  const body = structuredClone(patch)
  // A client that echoes GET back sends masks: they mean "unchanged".
  const token = getIn(body, ['providers', 'cloudflare', 'tunnelToken'])
  if (token !== undefined && token === maskSecret(current.providers.cloudflare.tunnelToken)) deleteIn(body, ['providers', 'cloudflare', 'tunnelToken'])
  if (token === '') (getIn(body, ['providers', 'cloudflare']) as Record<string, unknown>).tunnelToken = null
  for (const m of MANAGED) {
    const sent = getIn(body, m.path)
    if (sent === undefined) continue
    const now = getIn(current, m.path)
    const masked = m.path.at(-1) === 'token' ? maskSecret(now as string | null) : undefined
    if (sent !== now && sent !== masked) {
      const field = `${prefix}.${m.path.join('.')}`
      throw new BadRequestError(field, `"${field}" cannot be changed here: ${m.how}`)
    }
    deleteIn(body, m.path)
  }
  return services.settings.update((draft) => {
    merge(draft.remoteAccess as unknown as Record<string, unknown>, body, prefix)
  })
}

export function settingsRoutes(services: Services) {
  const summary = () => ({ remoteAccess: maskedRemoteAccess(services.settings.get().remoteAccess) })
  return new Elysia({ name: 'api.settings', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .get('/remote/settings', () => noStore(summary()), { role: 'admin' })
    .put('/remote/settings', ({ body }) => {
      // Accept the remoteAccess block itself, or wrapped as { remoteAccess: {...} }.
      const wrapped = isObject(body) && Object.keys(body).length === 1 && 'remoteAccess' in body
      updateRemoteAccess(services, wrapped ? (body as Record<string, unknown>).remoteAccess : body)
      return noStore(summary())
    }, { role: 'admin' })
    .get('/settings/global', () => noStore(summary()), { role: 'admin' })
    .put('/settings/global', ({ body }) => {
      if (!isObject(body)) throw new BadRequestError('body', '"body" must be an object')
      for (const k of Object.keys(body)) {
        if (k !== 'remoteAccess') throw new BadRequestError(k, `"${k}" is not a global setting that can be changed here (only remoteAccess)`)
      }
      if (body.remoteAccess !== undefined) updateRemoteAccess(services, body.remoteAccess)
      return noStore(summary())
    }, { role: 'admin' })
}
