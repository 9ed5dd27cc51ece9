import { describe, expect, it } from 'bun:test'
import { canTransition, TUNNEL_STATES, type TunnelState } from '../../../src/tunnels/states.ts'

const ALLOWED: [TunnelState, TunnelState][] = [
  ['stopped', 'starting'],
  ['starting', 'running'], ['starting', 'failed'], ['starting', 'stopping'],
  ['running', 'stopping'], ['running', 'failed'],
  ['stopping', 'stopped'], ['stopping', 'failed'],
  ['failed', 'starting'], ['failed', 'stopped'],
]

describe('tunnel states', () => {
  for (const from of TUNNEL_STATES) {
    for (const to of TUNNEL_STATES) {
      const ok = ALLOWED.some(([a, b]) => a === from && b === to)
      it(`${ok ? 'allows' : 'refuses'} ${from} → ${to}`, () => {
        expect(canTransition(from, to)).toBe(ok)
      })
    }
  }
})
