/**
 * JSON bodies nested deeper than MAX_JSON_DEPTH are refused with a 400 before validation and
 * before any handler sees them. Parsing copes with any depth, but copying, validating or
 * merging a body recurses once per level: a body 100,000 levels deep overflowed the stack in
 * `structuredClone` and came back as a 500. No request latchkey takes nests past a handful.
 */
import { Elysia } from 'elysia'
import { BadRequestError } from '../errors.ts'
import { MAX_JSON_DEPTH } from '../config/json-position.ts'

/** Whether objects and arrays in `value` nest more than `limit` levels (iterative, so any depth is safe to ask about). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false
  const stack: [object, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (depth > limit) return true
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}

/** The check for every API route: runs after the guard (parse) and before validation. */
export function jsonDepthPlugin() {
  return new Elysia({ name: 'latchkey.json-depth' }).onTransform({ as: 'global' }, ({ body }) => {
    if (nestedDeeperThan(body, MAX_JSON_DEPTH)) {
      throw new BadRequestError('body', `"body" is nested too deeply: objects and arrays may nest at most ${MAX_JSON_DEPTH} levels`, 'body_too_deep')
    }
  })
}
