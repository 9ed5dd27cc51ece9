/** OriginPolicy.reset(): a reload replaces the configured origins; the bind host stays allowed. */
import { describe, expect, it } from 'bun:test'
import { OriginPolicy } from '../../../src/guard/origins.ts'

const ports = () => [3000, 8000]

describe('OriginPolicy.reset', () => {
  it('allows the new entries and no longer the old ones', () => {
    const p = new OriginPolicy(['old.example', 'https://old.example:8443'], { host: '10.0.0.5', ports })
    expect(p.allows('http://old.example:3000')).toBe(true)
    expect(p.allows('https://old.example:8443')).toBe(true)
    p.reset(['new.example:9000'])
    expect(p.allows('http://old.example:3000')).toBe(false)
    expect(p.allows('https://old.example:8443')).toBe(false)
    expect(p.allows('http://new.example:9000')).toBe(true)
    expect(p.allows('http://new.example:3000')).toBe(false)
    // The concrete bind host and loopback are not entries: they stay.
    expect(p.allows('http://10.0.0.5:3000')).toBe(true)
    expect(p.allows('http://localhost:8000')).toBe(true)
  })
})
