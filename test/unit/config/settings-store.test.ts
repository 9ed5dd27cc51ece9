import { describe, expect, it } from 'bun:test'
import { readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SettingsStore, SettingsValidationError, checkSettings } from '../../../src/config/settings-store.ts'
import { SettingsSchema } from '../../../src/config/settings-schema.ts'
import { tempDir } from '../../helpers/latchkey.ts'

describe('SettingsStore', () => {
  it('creates settings.json with the runbook defaults and mode 0600', () => {
    const dir = tempDir()
    const store = SettingsStore.open(dir)
    const s = store.get()
    expect(s.remoteAccess.tokenStrategy.shortLived.ttlMs).toBe(900000)
    expect(s.remoteAccess.tokenStrategy.shortLived.maxTtlMs).toBe(86400000)
    expect(s.remoteAccess.lifecycle.rememberLastRunning).toBe(false)
    expect(statSync(join(dir, 'settings.json')).mode & 0o777).toBe(0o600)
  })

  it('writes an update atomically and leaves no temp file', () => {
    const dir = tempDir()
    const store = SettingsStore.open(dir)
    store.update((d) => {
      d.remoteAccess.activeProvider = 'cloudflare'
    })
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).remoteAccess.activeProvider).toBe('cloudflare')
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([])
    expect(SettingsStore.open(dir).get().remoteAccess.activeProvider).toBe('cloudflare')
  })

  it('refuses an invalid update naming the field and writes nothing', () => {
    const dir = tempDir()
    const store = SettingsStore.open(dir)
    const before = readFileSync(join(dir, 'settings.json'), 'utf8')
    let err: unknown
    try {
      store.update((d) => {
        ;(d.remoteAccess.providers.tailscale as any).targetPort = 70000
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SettingsValidationError)
    expect((err as SettingsValidationError).problem.field).toBe('remoteAccess.providers.tailscale.targetPort')
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(before)
    expect(store.get().remoteAccess.providers.tailscale.targetPort).toBeNull()
  })

  it('reports a hand-edited syntax error with line and column and never overwrites it', () => {
    const dir = tempDir()
    const broken = '{\n  "remoteAccess": {\n    "enabled": tru\n  }\n}\n'
    writeFileSync(join(dir, 'settings.json'), broken)
    expect(() => SettingsStore.open(dir)).toThrow(/settings\.json: line 3, column 16: invalid JSON/)
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(broken)
  })

  it('reports a wrong value with the position of the field', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'settings.json'), '{\n  "remoteAccess": {\n    "activeProvider": "ngrok"\n  }\n}\n')
    expect(() => SettingsStore.open(dir)).toThrow('line 3, column 23: "remoteAccess.activeProvider" must be tailscale, cloudflare or null')
  })

  it('reports an unknown field', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'settings.json'), '{"remoteAccess": {"enabld": true}}')
    expect(() => SettingsStore.open(dir)).toThrow('"remoteAccess.enabld" is not a known field')
  })

  it('reports __proto__, constructor and prototype keys with their position, and never overwrites the file', () => {
    const cases: [string, string, string][] = [
      ['{\n  "remoteAccess": {\n    "__proto__": { "enabled": true }\n  }\n}\n', 'remoteAccess.__proto__', 'line 3, column 18'],
      ['{\n  "preferences": {\n    "constructor": { "theme": "dark" }\n  }\n}\n', 'preferences.constructor', 'line 3, column 20'],
      ['{"preferences": {"local": {"prototype": {}}}}', 'preferences.local.prototype', 'line 1, column 41'],
      ['{"__proto__": {"polluted": true}}', '__proto__', 'line 1, column 15'],
      ['{"apps": [{"name": "a", "target": "http://127.0.0.1:9", "constructor": 1}]}', 'apps.0.constructor', 'line 1, column 72'],
      // An escaped key is the same key once parsed.
      ['{"remoteAccess": {"__\\u0070roto__": {"enabled": true}}}', 'remoteAccess.__proto__', 'line 1, column 37'],
    ]
    for (const [text, field, at] of cases) {
      const dir = tempDir()
      writeFileSync(join(dir, 'settings.json'), text)
      expect(() => SettingsStore.open(dir)).toThrow(`settings.json: ${at}: "${field}" is not allowed: __proto__, constructor and prototype cannot be keys`)
      expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(text)
    }
    expect(({} as Record<string, unknown>).enabled).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses an update that adds a reserved key, writing nothing', () => {
    const dir = tempDir()
    const store = SettingsStore.open(dir)
    const before = readFileSync(join(dir, 'settings.json'), 'utf8')
    expect(() => store.update((d) => void (d.preferences = JSON.parse('{"__proto__": {"theme": "dark"}}')))).toThrow(SettingsValidationError)
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(before)
  })

  it('reports a file nested too deeply with a position, not a stack overflow', () => {
    const dir = tempDir()
    const deep = '{"preferences": {"local": ' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + '}}'
    writeFileSync(join(dir, 'settings.json'), deep)
    expect(() => SettingsStore.open(dir)).toThrow('settings.json: line 1, column 337: invalid JSON: objects and arrays nested more than 64 deep')
  })

  it('tells subscribers about each change', () => {
    const store = SettingsStore.open(tempDir())
    const seen: (string | null)[] = []
    store.subscribe((next) => seen.push(next.remoteAccess.activeProvider))
    store.update((d) => void (d.remoteAccess.activeProvider = 'tailscale'))
    expect(seen).toEqual(['tailscale'])
  })

  // checkSettings skips filling defaults when the file already passes the schema; that is
  // only right while no field with a default may be left out.
  it('makes every field that has a default a required one', () => {
    const optionalWithDefault: string[] = []
    const walk = (schema: any, path: string) => {
      if (!schema || typeof schema !== 'object') return
      if (schema.type === 'object' && schema.properties) {
        for (const [name, prop] of Object.entries<any>(schema.properties)) {
          if (prop.default !== undefined && !(schema.required ?? []).includes(name)) optionalWithDefault.push(`${path}${name}`)
          walk(prop, `${path}${name}.`)
        }
      }
      for (const key of ['items', 'additionalProperties']) walk(schema[key], `${path}*.`)
      for (const sub of [...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) walk(sub, path)
      for (const sub of Object.values<any>(schema.patternProperties ?? {})) walk(sub, `${path}*.`)
    }
    walk(SettingsSchema, '')
    expect(optionalWithDefault).toEqual([])
  })

  it('gives the same settings for a complete file as for one filled with defaults', () => {
    const full = checkSettings({}).settings!
    expect(checkSettings(JSON.parse(JSON.stringify(full))).settings).toEqual(full)
    expect(checkSettings({ remoteAccess: { enabled: true } }).settings!.remoteAccess.enabled).toBe(true)
  })
})
