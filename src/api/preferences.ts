/**
 * GET/PUT /api/preferences: the caller's own dashboard preferences (theme, layout, sort,
 * pinned apps, apps filter), for viewers and admins alike (admin-allowlist reference, "Viewer
 * Role": "Manage their own preferences"). They are stored in settings.json under
 * `preferences[<identity>]`, where the identity is the guard's stable key for the caller
 * ("local", "tailscale:<id>", "session:<id>", "api-key", …): nobody can name another
 * identity, so a viewer changes only their own. A PUT is a partial update validated field by
 * field; a bad field is a 400 naming it, and nothing is written.
 */
import { Elysia } from 'elysia'
import { Value } from '@sinclair/typebox/value'
import type { Services } from '../context.ts'
import type { Caller } from '../guard/identify.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { BadRequestError } from '../errors.ts'
import { Preferences } from '../config/settings-schema.ts'

type Prefs = (typeof Preferences)['static']

const FIELDS: Record<keyof Prefs, string> = {
  theme: 'must be system, light or dark',
  layout: 'must be list or grid',
  sort: 'must be name, status or recent',
  pinnedApps: 'must be a list of at most 100 app names (each at most 63 characters)',
  filter: 'must be text of at most 200 characters',
}

const noStore = (body: unknown) => Response.json(body, { headers: { 'cache-control': 'no-store' } })

/** The settings.json key of a caller's preferences. */
export function preferenceKey(caller: Caller): string {
  return caller.key.slice(0, 200)
}

/** The caller's preferences, with defaults for anything never set. */
export function readPreferences(services: Services, key: string): Prefs {
  return Value.Default(Preferences, structuredClone(services.settings.get().preferences[key] ?? {})) as Prefs
}

/** Check a partial update field by field; returns the fields to set. */
export function checkPreferencePatch(body: unknown): Partial<Prefs> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('body', '"body" must be an object of preferences (theme, layout, sort, pinnedApps, filter)')
  }
  const patch: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(body)) {
    if (!Object.hasOwn(FIELDS, field)) throw new BadRequestError(field, `"${field}" is not a preference (theme, layout, sort, pinnedApps, filter)`)
    const schema = Preferences.properties[field as keyof Prefs]
    if (!Value.Check(schema, value)) throw new BadRequestError(field, `"${field}" ${FIELDS[field as keyof Prefs]}`)
    patch[field] = value
  }
  return patch as Partial<Prefs>
}

/** Apply a checked patch to the caller's own entry; entries of ended sessions are dropped. */
export function writePreferences(services: Services, key: string, patch: Partial<Prefs>): Prefs {
  const live = new Set(services.sessions.list().map((s) => `session:${s.id}`))
  services.settings.update((draft) => {
    for (const k of Object.keys(draft.preferences)) if (k.startsWith('session:') && !live.has(k)) delete draft.preferences[k]
    draft.preferences[key] = { ...readPreferences(services, key), ...patch }
  })
  return readPreferences(services, key)
}

export function preferencesRoutes(services: Services) {
  return new Elysia({ name: 'api.preferences', prefix: '/api' })
    .use(guardPlugin(services.guard))
    .get('/preferences', ({ caller }) => {
      const key = preferenceKey(caller)
      return noStore({ identity: key, preferences: readPreferences(services, key) })
    }, { role: 'viewer' })
    .put('/preferences', ({ caller, body }) => {
      const key = preferenceKey(caller)
      return noStore({ identity: key, preferences: writePreferences(services, key, checkPreferencePatch(body)) })
    }, { role: 'viewer' })
}
