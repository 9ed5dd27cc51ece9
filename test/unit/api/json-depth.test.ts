/** nestedDeeperThan: how deep objects and arrays nest, asked without recursion. */
import { describe, expect, it } from 'bun:test'
import { nestedDeeperThan } from '../../../src/api/json-depth.ts'

const nest = (n: number, leaf: unknown = 1, as: 'array' | 'object' = 'array') => {
  let v: unknown = leaf
  for (let i = 0; i < n; i++) v = as === 'array' ? [v] : { a: v }
  return v
}

describe('nestedDeeperThan', () => {
  it('counts each object or array as one level', () => {
    expect(nestedDeeperThan(nest(64), 64)).toBe(false)
    expect(nestedDeeperThan(nest(65), 64)).toBe(true)
    expect(nestedDeeperThan(nest(64, 1, 'object'), 64)).toBe(false)
    expect(nestedDeeperThan(nest(65, 1, 'object'), 64)).toBe(true)
  })

  it('finds the deep branch among shallow siblings', () => {
    // The object, b's array and c's object are 3 levels; nest(n) adds n.
    expect(nestedDeeperThan({ a: 1, b: [1, 2, { c: nest(62) }], d: 'x' }, 64)).toBe(true)
    expect(nestedDeeperThan({ a: 1, b: [1, 2, { c: nest(61) }], d: 'x' }, 64)).toBe(false)
  })

  it('answers for 1,000,000 levels without overflowing the stack', () => {
    expect(nestedDeeperThan(JSON.parse('['.repeat(1_000_000) + ']'.repeat(1_000_000)), 64)).toBe(true)
  })

  it('takes scalars and empty containers as shallow', () => {
    for (const v of [null, undefined, 1, 'x', true, [], {}]) expect(nestedDeeperThan(v, 64)).toBe(false)
  })
})
