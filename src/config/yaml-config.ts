/**
 * Reads latchkey.yaml, the operator's file (latchkey never writes it). Every key is checked
 * against the option table; errors name the file, line and column, and suggest a fix.
 */
import { readFileSync } from 'node:fs'
import type { Node, Document } from 'yaml'
import { lazyModule } from './lazy-module.ts'
import { OPTIONS, didYouMean, type OptionSpec } from '../cli.ts'
import { ConfigError } from '../errors.ts'
import { parseAppEntry } from '../apps/app-config.ts'
import { parseWebhookEntry } from '../webhooks/webhook-config.ts'

export type YamlValues = Map<string, unknown>

/** The yaml package, read only when a latchkey.yaml exists. */
const yaml = lazyModule('yaml', () => require('yaml') as typeof import('yaml'))

/** Dotted YAML paths of every option, and the parent maps they live in. */
const yamlSpecs = new Map(OPTIONS.filter((o) => o.yaml).map((o) => [o.yaml!, o]))
const parentPaths = new Set([...yamlSpecs.keys()].filter((p) => p.includes('.')).map((p) => p.split('.').slice(0, -1).join('.')))

/** Load and validate a YAML config file; a missing file is an error only when `required`. */
export function loadYamlConfig(path: string, required: boolean): YamlValues {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err: any) {
    if (err?.code === 'ENOENT' && !required) return new Map()
    const why = err?.code === 'ENOENT' ? 'no such file (check --config)' : err?.code === 'EACCES' ? 'permission denied' : String(err?.message ?? err)
    throw new ConfigError(why, { path })
  }
  return parseYamlConfig(text, path)
}

/** Parse YAML text already read from `path`. */
export function parseYamlConfig(text: string, path: string): YamlValues {
  const { LineCounter, parseDocument, isScalar } = yaml()
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, strict: true })
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0] ?? 0
    const pos = lines.linePos(offset)
    return { path, line: pos.line, column: pos.col }
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    // Note: the parser fills `linePos` only with prettyErrors; `pos` (offsets) is always there.
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0])
    const detail = e.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '')
    throw new ConfigError(`invalid YAML: ${detail}`, { path, line: pos.line, column: pos.col })
  }
  const values: YamlValues = new Map()
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return values
  walkMap(doc, doc.contents as Node, '', values, at)
  return values
}

function walkMap(doc: Document, node: Node, prefix: string, out: YamlValues, at: (n: Node | null | undefined) => { path: string; line: number; column: number }) {
  const { isMap, isScalar } = yaml()
  if (!isMap(node)) {
    throw new ConfigError(prefix ? `"${prefix}" must be a mapping of keys to values` : 'the file must be a mapping of keys to values (key: value)', at(node))
  }
  const seen = new Set<string>()
  for (const pair of node.items) {
    const keyNode = pair.key as Node
    const key = isScalar(keyNode) ? String(keyNode.value) : ''
    const full = prefix ? `${prefix}.${key}` : key
    // Checked here rather than by the parser, which reports duplicates at the map's start.
    if (seen.has(key)) throw new ConfigError(`duplicate key "${full}": keep one`, at(keyNode))
    seen.add(key)
    if (parentPaths.has(full)) {
      walkMap(doc, pair.value as Node, full, out, at)
      continue
    }
    const spec = yamlSpecs.get(full)
    if (!spec) {
      const siblings = [...yamlSpecs.keys(), ...parentPaths].filter((p) => (prefix ? p.startsWith(prefix + '.') : !p.includes('.')))
      const hint = didYouMean(full, siblings)
      throw new ConfigError(`unknown key "${full}"${hint ? `: did you mean "${hint}"?` : ' (see latchkey.example.yaml for every key)'}`, at(keyNode))
    }
    out.set(spec.key, convert(spec, pair.value as Node, at))
  }
}

function convert(spec: OptionSpec, node: Node, at: (n: Node | null | undefined) => { path: string; line: number; column: number }): unknown {
  const { isSeq, isScalar } = yaml()
  const name = spec.yaml!
  const fail = (why: string, n: Node = node): never => {
    throw new ConfigError(`"${name}" ${why}`, at(n))
  }
  if (spec.type === 'list') {
    if (!isSeq(node)) return fail('must be a list (e.g. [a, b] or one "- item" per line)')
    return node.items.map((item) => {
      if (!isScalar(item) || item.value === null || typeof item.value === 'object') fail('must list plain values', item as Node)
      return String((item as any).value)
    })
  }
  if (spec.type === 'apps') {
    if (!isSeq(node)) return fail('must be a list of apps, each with name and target')
    return node.items.map((item, i) => {
      try {
        return parseAppEntry((item as Node & { toJSON(): unknown }).toJSON?.() ?? null, `apps[${i}]`)
      } catch (err: any) {
        throw new ConfigError(err.message, at(item as Node))
      }
    })
  }
  if (spec.type === 'webhooks') {
    if (!isSeq(node)) return fail('must be a list of webhooks, each with url (and events, secretFile)')
    return node.items.map((item, i) => {
      try {
        return parseWebhookEntry((item as Node & { toJSON(): unknown }).toJSON?.() ?? null, `webhooks[${i}]`)
      } catch (err: any) {
        throw new ConfigError(err.message, at(fieldNode(item as Node, err.field, err.onKey) ?? (item as Node)))
      }
    })
  }
  if (!isScalar(node)) return fail('must be a single value')
  const v = node.value
  switch (spec.type) {
    case 'port':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) fail('must be 1-65535')
      return v
    case 'nonneg':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail('must be a whole number of milliseconds')
      return v
    case 'bool':
      if (typeof v !== 'boolean') fail('must be true or false')
      return v
    case 'enum':
      if (typeof v !== 'string' || !spec.values!.includes(v)) fail(`must be one of ${spec.values!.join(', ')}`)
      return v
    case 'url':
      if (typeof v !== 'string' || (v !== '' && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(v))) fail('must be an http:// or https:// URL')
      return (v as string).replace(/\/+$/, '')
    case 'secret':
      if (typeof v !== 'string' || v.length === 0) fail('must be a non-empty string')
      return v
    default:
      if (typeof v !== 'string') fail('must be a string')
      return v
  }
}

/** The node of `webhooks[i].<field>[j]` inside one list item, for the error position. */
function fieldNode(item: Node, field: string | undefined, onKey = false): Node | undefined {
  const { isMap, isScalar, isSeq } = yaml()
  const m = /^[^.]+\.([A-Za-z]+)(?:\[(\d+)\])?$/.exec(field ?? '')
  if (!m || !isMap(item)) return undefined
  const pair = item.items.find((p) => isScalar(p.key) && p.key.value === m[1])
  if (!pair) return undefined
  if (onKey) return pair.key as Node
  if (m[2] !== undefined && isSeq(pair.value)) return (pair.value.items[Number(m[2])] as Node | undefined) ?? (pair.value as Node)
  return (pair.value as Node) ?? (pair.key as Node)
}
