/**
 * Sums the JUnit reports in a folder into the closing line: "tests: N passed, N failed".
 * `--runs-failed N`: how many suite runs exited non-zero. A test file that fails to load
 * leaves no trace in bun's JUnit report, so a failed run with no failed testcase counts as
 * one failure rather than letting the line say 0.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const args = process.argv.slice(2)
const flag = args.indexOf('--runs-failed')
const runsFailed = flag === -1 ? 0 : Number(args[flag + 1] ?? 0)
const dir = args.find((a, i) => !a.startsWith('--') && (flag === -1 || i !== flag + 1)) ?? 'test-results'
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
if (failed < runsFailed) {
  console.log(`${runsFailed - failed} suite run(s) failed outside any recorded test (a test file that did not load, or an error between tests): see the output above`)
  failed = runsFailed
}
console.log(`tests: ${passed} passed, ${failed} failed`)
