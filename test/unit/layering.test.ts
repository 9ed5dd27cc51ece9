/**
 * Lower folders never import higher ones. src/guard/ is the security kernel: it imports
 * nothing from the API, the server, the apps, the webhooks or the services bag, so what it
 * decides can be read in one folder. tokens/, tailscale/ and net/ sit below it; metrics/
 * depends on nothing of latchkey's.
 */
import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import { ROOT } from '../helpers/latchkey.ts'

const SRC = join(ROOT, 'src')

/** What each folder must never import (folders of src/, or single files such as context.ts). */
const RULES: Record<string, string[]> = {
  guard: ['api', 'server', 'apps', 'webhooks', 'context.ts', 'app.ts', 'tui', 'commands', 'tunnels', 'connect'],
  tokens: ['guard', 'api', 'server', 'apps', 'webhooks', 'context.ts', 'tunnels'],
  tailscale: ['guard', 'api', 'server', 'apps', 'webhooks', 'context.ts', 'tokens'],
  net: ['guard', 'api', 'server', 'apps', 'webhooks', 'context.ts', 'tokens', 'tailscale', 'config'],
  // The metrics registry is told what to count through hooks and scrape-time sources.
  metrics: ['guard', 'api', 'server', 'apps', 'webhooks', 'context.ts', 'app.ts', 'tokens', 'tunnels', 'config', 'runtime'],
}

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* sources(path)
    else if (path.endsWith('.ts')) yield path
  }
}

/** Every `from './x'` and `import('./x')` of a file, as a path relative to `src`. */
function importsOf(file: string, src: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(relative(src, resolve(dirname(file), m[1])))
  return out
}

export function layeringViolations(src: string): string[] {
  const found: string[] = []
  for (const [folder, forbidden] of Object.entries(RULES)) {
    let dir: string
    try {
      dir = join(src, folder)
      statSync(dir)
    } catch {
      continue
    }
    for (const file of sources(dir)) {
      for (const target of importsOf(file, src)) {
        const top = target.split('/')[0]
        if (forbidden.includes(top)) found.push(`${relative(src, file)} imports ${target}`)
      }
    }
  }
  return found.sort()
}

describe('layering', () => {
  it('keeps guard/ free of api/, server/, apps/, webhooks/ and the services bag, and tokens/, tailscale/, net/ below it', () => {
    expect(layeringViolations(SRC)).toEqual([])
  })

  it('finds a violation when there is one (the check can fail)', () => {
    const fake = join(ROOT, 'test', 'unit', 'fixtures', 'layering-src')
    expect(layeringViolations(fake)).toEqual(['guard/bad.ts imports api/remote.ts', 'guard/bad.ts imports context.ts', 'tokens/bad.ts imports guard/roles.ts'])
  })
})
