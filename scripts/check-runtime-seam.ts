/**
 * The runtime seam check (DESIGN.md "Runtime seam", STYLE.md 7): no file in src/ outside
 * src/runtime/ names `Bun.` or `Deno.` (nor reaches them through globalThis), so everything else
 * runs unchanged on both runtimes. Prints each offending line and exits 1; exits 0 when clean.
 * Usage: bun scripts/check-runtime-seam.ts [srcDir]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

/** `Bun.x`, `Deno.x`, `globalThis.Bun`, `x['Deno']`, `'Bun' in globalThis`, `import ... from 'bun'`. */
const FORBIDDEN = [
  /\b(?:Bun|Deno)\s*\./,
  /globalThis\s*\.\s*(?:Bun|Deno)\b/,
  /\[\s*['"`](?:Bun|Deno)['"`]\s*\]/,
  /['"`](?:Bun|Deno)['"`]\s+in\s+globalThis/,
  /\bfrom\s+['"]bun(?::[^'"]*)?['"]/,
  /\bimport\s*\(\s*['"]bun['"]\s*\)/,
]
const SOURCE = /\.(?:ts|tsx|js|mjs|cjs)$/

export interface SeamViolation {
  file: string
  line: number
  text: string
}

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (SOURCE.test(name)) yield path
  }
}

/** Every line of src/ outside src/runtime/ (and the generated bundle) that names a runtime global. */
export function findSeamViolations(srcDir: string): SeamViolation[] {
  const root = resolve(srcDir)
  const out: SeamViolation[] = []
  for (const file of files(root)) {
    const rel = relative(root, file)
    // src/generated/ holds the bundled dashboard (browser code, rebuilt by scripts/build.ts).
    if (rel.startsWith('runtime/') || rel.startsWith('generated/')) continue
    readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
      if (FORBIDDEN.some((re) => re.test(text))) out.push({ file: join(srcDir, rel), line: i + 1, text: text.trim() })
    })
  }
  return out
}

if (import.meta.main) {
  const dir = process.argv[2] ?? 'src'
  const found = findSeamViolations(dir)
  for (const v of found) console.error(`${v.file}:${v.line}: names a runtime global outside src/runtime/: ${v.text}`)
  if (found.length) {
    console.error(`check-runtime-seam: ${found.length} line(s) outside src/runtime/ name Bun or Deno; move them behind src/runtime/types.ts`)
    process.exit(1)
  }
  console.log('check-runtime-seam: ok (no Bun. or Deno. outside src/runtime/)')
}
