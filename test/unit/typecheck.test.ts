/** The whole tree type-checks (tsc --noEmit): src, public, scripts and tests. */
import { describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../helpers/latchkey.ts'

describe('typecheck', () => {
  it('passes tsc --noEmit with no errors', () => {
    const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', join(ROOT, 'tsconfig.json')], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 })
    expect(r.stdout + r.stderr).toBe('')
    expect(r.status).toBe(0)
  }, 150_000)
})
