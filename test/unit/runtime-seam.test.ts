/** scripts/check-runtime-seam.ts: nothing in src/ outside src/runtime/ names Bun or Deno. */
import { describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findSeamViolations } from '../../scripts/check-runtime-seam.ts'
import { BUN, ROOT } from '../helpers/latchkey.ts'

const SCRIPT = join(ROOT, 'scripts', 'check-runtime-seam.ts')

function fakeSrc(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lk-seam-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

describe('check-runtime-seam', () => {
  it('finds no runtime global outside src/runtime/ in the real sources', () => {
    expect(findSeamViolations(join(ROOT, 'src'))).toEqual([])
    const run = spawnSync(BUN, [SCRIPT], { cwd: ROOT, encoding: 'utf8' })
    expect(run.status).toBe(0)
  })

  it('fails naming file and line for Bun., Deno., globalThis lookups and bun imports outside src/runtime/', () => {
    const dir = fakeSrc({
      'runtime/bun.ts': 'export const v = Bun.version\n',
      'runtime/deno.ts': 'export const v = Deno.version.deno\n',
      'server/a.ts': 'const x = 1\nconst s = Bun.serve({})\n',
      'guard/b.ts': 'const p = Deno.env.get("X")\n',
      'c.ts': "const r = (globalThis as any)['Bun']\n",
      'd.ts': "import type { Server } from 'bun'\n",
      'ok.ts': '// Bun folds duplicate Host headers (a word, not a global)\nconst Bundle = 1\n',
    })
    try {
      const found = findSeamViolations(dir).map((v) => `${v.file.slice(dir.length + 1)}:${v.line}`).sort()
      expect(found).toEqual(['c.ts:1', 'd.ts:1', 'guard/b.ts:1', 'server/a.ts:2'])
      const run = spawnSync(BUN, [SCRIPT, dir], { encoding: 'utf8' })
      expect(run.status).toBe(1)
      expect(run.stderr).toContain('server/a.ts:2: names a runtime global outside src/runtime/')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
