/**
 * The only reader and writer of settings.json. Writes are atomic (temp file in the same
 * folder, fsync, rename, fsync of the folder, mode 0600) and synchronous, so they are
 * serialized within the process; a file with an error is reported with its position and
 * never overwritten.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { removeStaleTemps, writeFileAtomic } from './atomic-write.ts'
import { ConfigError } from '../errors.ts'
import { SettingsSchema, type Settings } from './settings-schema.ts'
import { findJsonError, locateJsonPath } from './json-position.ts'
import { matchesSchema, schemaDefault } from './schema-check.ts'
import { lazyModule } from './lazy-module.ts'

export type SettingsListener = (next: Settings, prev: Settings) => void

/** A field-level validation failure (for API errors and file errors alike). */
export interface SettingsProblem {
  /** Dotted path, e.g. remoteAccess.providers.tailscale.targetPort */
  field: string
  message: string
}

/**
 * Keys that mean something to JavaScript objects. JSON.parse makes them ordinary keys, but
 * copying and filling defaults can turn `__proto__` into the object's prototype (a
 * hand-edited `"remoteAccess": {"__proto__": {"enabled": true}}` would quietly switch remote
 * access on), so they are refused wherever they appear.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** The dotted path of the first reserved key in `value`, or null (iterative: depth is no risk). */
function findReservedKey(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '']]
  while (stack.length > 0) {
    const [node, at] = stack.pop()!
    if (typeof node !== 'object' || node === null) continue
    const keys = Object.keys(node)
    const hit = keys.find((key) => RESERVED_KEYS.has(key))
    if (hit !== undefined) return at ? `${at}.${hit}` : hit
    // Reversed, so that siblings are searched in file order.
    for (const key of keys.reverse()) stack.push([(node as Record<string, unknown>)[key], at ? `${at}.${key}` : key])
  }
  return null
}

/** Fill defaults and check `value` against the schema; returns the first problem, if any. */
export function checkSettings(value: unknown): { settings?: Settings; problem?: SettingsProblem } {
  const reserved = findReservedKey(value)
  if (reserved) return { problem: { field: reserved, message: `"${reserved}" is not allowed: __proto__, constructor and prototype cannot be keys` } }
  // A complete, valid file (every start after the first) needs no defaults: every field
  // with a default is required, so a valid value is one Default would not change. The small
  // checker says so without TypeBox; only what it refuses (a file missing fields, an invalid
  // value) loads TypeBox, to fill the defaults and word the error.
  if (matchesSchema(SettingsSchema, value)) return { settings: structuredClone(value) as Settings }
  const { Value } = typebox()
  const filled = Value.Default(SettingsSchema, structuredClone(value ?? {}))
  const first = Value.Check(SettingsSchema, filled) ? undefined : Value.Errors(SettingsSchema, filled).First()
  if (first) {
    const field = first.path.replace(/^\//, '').replace(/\//g, '.') || '(root)'
    const custom = (first.schema as { error?: string }).error
    const message =
      /unexpected property|additional/i.test(first.message)
        ? `"${field}" is not a known field`
        : `"${field}" ${custom ?? first.message.toLowerCase()}`
    return { problem: { field, message } }
  }
  return { settings: filled as Settings }
}

/** TypeBox's Value module, read only when the small checker refuses a value. */
const typebox = lazyModule('@sinclair/typebox/value', () => require('@sinclair/typebox/value') as typeof import('@sinclair/typebox/value'))

/** The settings of a new data dir: every default (what Value.Default makes of `{}`). */
export function defaultSettings(): Settings {
  return checkSettings(schemaDefault(SettingsSchema)).settings!
}

export class SettingsStore {
  readonly path: string
  #current: Settings
  #listeners = new Set<SettingsListener>()

  private constructor(path: string, initial: Settings) {
    this.path = path
    this.#current = deepFreeze(initial)
  }

  /** Open `<dataDir>/settings.json`, creating it with defaults when missing. */
  static open(dataDir: string): SettingsStore {
    const path = join(dataDir, 'settings.json')
    // Temp files of a latchkey killed mid-write (the data dir lock says none is running).
    removeStaleTemps(path)
    let text: string | undefined
    try {
      text = readFileSync(path, 'utf8')
    } catch (err: any) {
      if (err?.code !== 'ENOENT') throw new ConfigError(`cannot read (${err?.code ?? err})`, { path })
    }
    if (text === undefined) {
      const store = new SettingsStore(path, defaultSettings())
      store.#write(store.#current)
      return store
    }
    return new SettingsStore(path, SettingsStore.parse(text, path))
  }

  /** Parse settings.json text, reporting errors with the file's line and column. */
  static parse(text: string, path: string): Settings {
    const syntax = findJsonError(text)
    if (syntax) {
      throw new ConfigError(`invalid JSON: ${syntax.message} (fix or remove the file; latchkey will not overwrite it)`, { path, line: syntax.line, column: syntax.column })
    }
    const { settings, problem } = checkSettings(JSON.parse(text))
    if (problem) {
      const pos = locate(text, problem.field)
      throw new ConfigError(`${problem.message} (fix or remove the file; latchkey will not overwrite it)`, { path, ...pos })
    }
    return settings!
  }

  /** The current settings (frozen: change them with `update`). */
  get(): Settings {
    return this.#current
  }

  /**
   * Apply `mutate` to a copy, validate, write atomically, then publish.
   * Throws a SettingsValidationError (nothing written) when the result is invalid.
   */
  update(mutate: (draft: Settings) => void): Settings {
    const draft = structuredClone(this.#current) as Settings
    mutate(draft)
    const { settings, problem } = checkSettings(draft)
    if (problem) throw new SettingsValidationError(problem)
    const prev = this.#current
    this.#write(settings!)
    this.#current = deepFreeze(settings!)
    for (const l of this.#listeners) l(this.#current, prev)
    return this.#current
  }

  /** Be told after every successful update. Returns an unsubscribe function. */
  subscribe(listener: SettingsListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #write(settings: Settings): void {
    try {
      writeFileAtomic(this.path, JSON.stringify(settings, null, 2) + '\n')
    } catch (err) {
      throw new SettingsWriteError(err)
    }
  }
}

const WRITE_FAILURES: Record<string, string> = {
  EFBIG: 'the file-size limit was reached (EFBIG)',
  ENOSPC: 'the disk is full (ENOSPC)',
  EDQUOT: 'the disk quota is used up (EDQUOT)',
  EACCES: 'permission denied (EACCES)',
  EROFS: 'the file system is read-only (EROFS)',
}

/** settings.json could not be written; the file on disk and the settings in memory are unchanged. */
export class SettingsWriteError extends Error {
  readonly errno: string
  constructor(cause: unknown) {
    // Deno's errors carry no `code`, only "File too large (os error 27)".
    const os = /os error (\d+)/.exec(String((cause as Error)?.message))?.[1]
    const errno = String((cause as { code?: string })?.code ?? { 27: 'EFBIG', 28: 'ENOSPC', 13: 'EACCES', 30: 'EROFS', 122: 'EDQUOT' }[Number(os)] ?? 'EIO')
    super(`Cannot save settings.json: ${WRITE_FAILURES[errno] ?? errno}; nothing was changed`, { cause })
    this.name = 'SettingsWriteError'
    this.errno = errno
  }
}

export class SettingsValidationError extends TypeError {
  constructor(readonly problem: SettingsProblem) {
    super(problem.message)
    this.name = 'SettingsValidationError'
  }
}

/** Line and column of a dotted field in settings.json text (or of its deepest parent present). */
function locate(text: string, field: string): { line?: number; column?: number } {
  return locateJsonPath(text, field === '(root)' ? [] : field.split('.'))
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}
