/**
 * The compiled binary the e2e tests run: LATCHKEY_BUILT_BINARY when the test command built
 * it, else dist/latchkey, rebuilt first when it is missing or older than the sources.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { BUN, ROOT } from '../../helpers/latchkey.ts'

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const t = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs
    if (t > newest) newest = t
  }
  return newest
}

export function builtBinary(): string {
  const given = process.env.LATCHKEY_BUILT_BINARY
  if (given && existsSync(given)) return given
  const binary = join(ROOT, 'dist', 'latchkey')
  const sources = Math.max(
    newestMtime(join(ROOT, 'src')),
    newestMtime(join(ROOT, 'public')),
    statSync(join(ROOT, 'scripts', 'build.ts')).mtimeMs,
  )
  if (!existsSync(binary) || statSync(binary).mtimeMs < sources) {
    const r = spawnSync(BUN, [join(ROOT, 'scripts', 'build.ts')], { cwd: ROOT, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`bun scripts/build.ts failed:\n${r.stdout}\n${r.stderr}`)
  }
  return binary
}
