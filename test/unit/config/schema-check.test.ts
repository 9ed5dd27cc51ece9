/**
 * The small settings.json checker (src/config/schema-check.ts) against TypeBox: it must never
 * accept what Value.Check refuses, and on settings-shaped values it must agree, so a start
 * that skips TypeBox reads every file as TypeBox would.
 */
import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { Value } from '@sinclair/typebox/value'
import { SettingsSchema } from '../../../src/config/settings-schema.ts'
import { matchesSchema, schemaDefault } from '../../../src/config/schema-check.ts'
import { defaultSettings } from '../../../src/config/settings-store.ts'

const SEED = Number(process.env.FC_SEED ?? 20261203)

/** A complete default settings object with one field replaced, removed or added somewhere. */
function edited(path: readonly string[], action: 'set' | 'delete' | 'add', value: unknown): unknown {
  const root = structuredClone(Value.Default(SettingsSchema, {})) as Record<string, unknown>
  let node: any = root
  for (const key of path.slice(0, -1)) {
    if (typeof node?.[key] !== 'object' || node[key] === null) break
    node = node[key]
  }
  const last = path[path.length - 1]
  if (action === 'delete') delete node[last]
  else if (action === 'add') node[`${last}x`] = value
  else node[last] = value
  return root
}

const paths = fc.constantFrom(
  ['version'], ['remoteAccess'], ['remoteAccess', 'enabled'], ['remoteAccess', 'activeProvider'],
  ['remoteAccess', 'providers', 'tailscale', 'targetPort'], ['remoteAccess', 'providers', 'tailscale', 'hostname'],
  ['remoteAccess', 'providers', 'tailscale', 'mode'], ['remoteAccess', 'providers', 'cloudflare', 'tunnelName'],
  ['remoteAccess', 'providers', 'cloudflare', 'tunnelToken'], ['remoteAccess', 'providers', 'cloudflare', 'ingressUrl'],
  ['remoteAccess', 'tokenStrategy', 'persistent', 'token'], ['remoteAccess', 'tokenStrategy', 'shortLived', 'ttlMs'],
  ['remoteAccess', 'lifecycle', 'lastRunningProvider'], ['apps'], ['pausedApps'], ['preferences'], ['firstSignInAt'],
)
const values = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, false, 0, 1, 80, 65535, 65536, 1.5, -1, 999, 1000, '', 'x', 'funnel', 'serve', 'tailscale', 'cloudflare', 'box.tailnet.ts.net', 'http://127.0.0.1:9', 'a'.repeat(300), [], {}),
  fc.constantFrom(
    [{ name: 'notebook', target: 'http://127.0.0.1:8888', role: 'viewer', identityHeaders: false, paused: false }],
    [{ name: 'notebook', target: 'http://127.0.0.1:8888' }],
    [{ name: 'Bad', target: 'http://127.0.0.1:8888', role: 'viewer', identityHeaders: false, paused: false }],
    { local: { theme: 'dark', layout: 'grid', sort: 'name', pinnedApps: [], filter: '' } },
    { local: { theme: 'neon', layout: 'grid', sort: 'name', pinnedApps: [], filter: '' } },
    { local: {} },
  ),
)

describe('matchesSchema', () => {
  it('agrees with TypeBox Value.Check on settings with one field changed, removed or added', () => {
    fc.assert(
      fc.property(paths, fc.constantFrom('set', 'delete', 'add') as fc.Arbitrary<'set' | 'delete' | 'add'>, values, (path, action, value) => {
        const v = edited(path, action, value)
        expect(matchesSchema(SettingsSchema, v)).toBe(Value.Check(SettingsSchema, v))
      }),
      { seed: SEED, numRuns: 2000 },
    )
  })

  it('never accepts what TypeBox refuses, whatever the value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        if (matchesSchema(SettingsSchema, v)) expect(Value.Check(SettingsSchema, v)).toBe(true)
      }),
      { seed: SEED, numRuns: 2000 },
    )
  })

  it('refuses a schema kind it does not read, so that TypeBox decides', () => {
    expect(matchesSchema({ type: 'number' }, 1)).toBe(false)
    expect(matchesSchema({ type: 'string', format: 'email' }, 'a@b')).toBe(false)
  })
})

describe('schemaDefault', () => {
  it('gives the settings of a new data dir exactly as Value.Default fills an empty file', () => {
    expect(schemaDefault(SettingsSchema)).toEqual(Value.Default(SettingsSchema, {}))
    expect(defaultSettings()).toEqual(Value.Default(SettingsSchema, {}) as any)
  })
})
