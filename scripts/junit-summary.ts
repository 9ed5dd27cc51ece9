/** Sums the JUnit reports in a folder into the closing line: "tests: N passed, N failed". */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.argv[2] ?? 'test-results'
let passed = 0
let failed = 0
for (const file of readdirSync(dir).filter((f) => f.endsWith('.xml'))) {
  const xml = readFileSync(join(dir, file), 'utf8')
  // Count testcases directly: robust across reporters that disagree on suite attributes.
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const inner = m[2] ?? ''
    if (/<(skipped)\b/.test(inner)) continue
    if (/<(failure|error)\b/.test(inner)) failed++
    else passed++
  }
}
console.log(`tests: ${passed} passed, ${failed} failed`)
