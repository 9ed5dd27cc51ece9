/**
 * A small checker for the JSON Schema subset settings-schema.ts uses (object, record, array,
 * string, integer, boolean, null, literal, union), so that a start reads a valid
 * settings.json, or writes the defaults, without TypeBox's Value module (a good part of a
 * cold start). It accepts only what TypeBox's Value.Check accepts: a schema kind it does not
 * know is a mismatch, and the caller then asks TypeBox, which also fills defaults and words
 * the error (test/unit/config/schema-check.test.ts compares the two on generated values).
 */

/** The JSON Schema keywords read here (TypeBox schemas are plain JSON Schema objects). */
export interface SchemaNode {
  type?: string
  const?: unknown
  anyOf?: SchemaNode[]
  properties?: Record<string, SchemaNode>
  required?: string[]
  additionalProperties?: boolean | SchemaNode
  patternProperties?: Record<string, SchemaNode>
  items?: SchemaNode | SchemaNode[]
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  default?: unknown
  [keyword: string]: unknown
}

/** Keywords that constrain a value further than this checker reads: a schema with any is not matched. */
const UNREAD = ['format', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minProperties', 'maxProperties', 'allOf', 'not', '$ref', 'unevaluatedProperties']

const patterns = new Map<string, RegExp>()
const regex = (source: string) => {
  let r = patterns.get(source)
  if (!r) patterns.set(source, (r = new RegExp(source)))
  return r
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Whether `value` is valid against `schema`; false also for anything this checker cannot judge. */
export function matchesSchema(schema: SchemaNode, value: unknown): boolean {
  for (const keyword of UNREAD) if (schema[keyword] !== undefined) return false
  if (schema.anyOf) return schema.anyOf.some((inner) => matchesSchema(inner, value))
  if ('const' in schema) return value === schema.const
  switch (schema.type) {
    case 'boolean':
      return typeof value === 'boolean'
    case 'null':
      return value === null
    case 'integer':
      return Number.isInteger(value) && inRange(schema, value as number)
    case 'string':
      return typeof value === 'string' && lengthOk(schema, value.length) && (schema.pattern === undefined || regex(schema.pattern).test(value))
    case 'array':
      return Array.isArray(value) && !Array.isArray(schema.items) && schema.items !== undefined && lengthOk({ minLength: schema.minItems, maxLength: schema.maxItems }, value.length) && value.every((item) => matchesSchema(schema.items as SchemaNode, item))
    case 'object':
      return isObject(value) && (schema.patternProperties ? matchesRecord(schema, value) : matchesObject(schema, value))
  }
  return false
}

function inRange(schema: SchemaNode, n: number): boolean {
  return (schema.minimum === undefined || n >= schema.minimum) && (schema.maximum === undefined || n <= schema.maximum)
}

function lengthOk(schema: { minLength?: number; maxLength?: number }, n: number): boolean {
  return (schema.minLength === undefined || n >= schema.minLength) && (schema.maxLength === undefined || n <= schema.maxLength)
}

function matchesObject(schema: SchemaNode, value: Record<string, unknown>): boolean {
  const properties = schema.properties ?? {}
  const required = schema.required ?? []
  for (const [key, property] of Object.entries(properties)) {
    // An optional property is checked only when present (TypeBox: not undefined).
    if (!required.includes(key) && value[key] === undefined) continue
    if (!Object.hasOwn(value, key) || !matchesSchema(property, value[key])) return false
  }
  if (schema.additionalProperties === undefined || schema.additionalProperties === true) return true
  const extra = Object.keys(value).filter((key) => !Object.hasOwn(properties, key))
  if (schema.additionalProperties === false) return extra.length === 0
  return extra.every((key) => matchesSchema(schema.additionalProperties as SchemaNode, value[key]))
}

function matchesRecord(schema: SchemaNode, value: Record<string, unknown>): boolean {
  const entries = Object.entries(schema.patternProperties!)
  if (entries.length !== 1 || schema.properties) return false
  const [pattern, inner] = entries[0]
  const keys = regex(pattern)
  for (const [key, v] of Object.entries(value)) {
    if (keys.test(key)) {
      if (!matchesSchema(inner, v)) return false
    } else if (schema.additionalProperties === false) return false
    else if (typeof schema.additionalProperties === 'object' && !matchesSchema(schema.additionalProperties, v)) return false
  }
  return true
}

/**
 * The value a missing field gets: its schema's default, with the defaults of an object's
 * own properties filled in below it (what TypeBox's Value.Default makes of `undefined`).
 */
export function schemaDefault(schema: SchemaNode): unknown {
  const value = structuredClone(schema.default)
  if (schema.type !== 'object' || !schema.properties || !isObject(value)) return value
  for (const [key, property] of Object.entries(schema.properties)) {
    if (value[key] !== undefined) continue
    const filled = schemaDefault(property)
    if (filled !== undefined) value[key] = filled
  }
  return value
}
