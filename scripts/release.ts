/**
 * Builds the release executables into dist/release/ (npm run release):
 *   latchkey-<version>-<os>-<arch>[.exe] for every target below, and SHA256SUMS
 *   (sha256sum's format, which scripts/install.sh verifies against).
 *
 *   bun scripts/release.ts                          all six targets into dist/release/
 *   bun scripts/release.ts --only linux-arm64,linux-x64 --outdir /tmp/r   a subset (tests)
 *
 * The version comes from package.json and the commit is baked in by scripts/build.ts
 * (--define LATCHKEY_COMMIT), so `latchkey --version` prints both.
 */
import { createHash } from 'node:crypto'
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { execFileSync } from 'node:child_process'
import { buildAssets, compile } from './build.ts'
import pkg from '../package.json' with { type: 'json' }

const root = resolve(import.meta.dir, '..')

/** Release name (`<os>-<arch>`) → `bun build --compile --target`. */
export const TARGETS: Record<string, string> = {
  'linux-x64': 'bun-linux-x64',
  // Note: for x86-64 CPUs without AVX2 (pre-2013 Intel, some NAS and small-VPS CPUs).
  'linux-x64-baseline': 'bun-linux-x64-baseline',
  'linux-arm64': 'bun-linux-arm64',
  'darwin-arm64': 'bun-darwin-arm64',
  'darwin-x64': 'bun-darwin-x64',
  'windows-x64': 'bun-windows-x64',
}

/** The asset name for one target, e.g. latchkey-0.1.0-linux-arm64 or latchkey-0.1.0-windows-x64.exe. */
export function assetName(version: string, target: string): string {
  return `latchkey-${version}-${target}${target.startsWith('windows-') ? '.exe' : ''}`
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  if (i === -1) return undefined
  const value = args[i + 1]
  if (value === undefined || value.startsWith('--')) throw new Error(`Option "${name}" needs a value`)
  return value
}

function headCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
  } catch {
    return 'unknown'
  }
}

async function main(args: string[]): Promise<void> {
  const only = option(args, '--only')
  const targets = only ? only.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(TARGETS)
  const unknown = targets.filter((t) => !(t in TARGETS))
  if (unknown.length) throw new Error(`Unknown target "${unknown[0]}": expected one of ${Object.keys(TARGETS).join(', ')}`)
  const outdir = resolve(root, option(args, '--outdir') ?? join('dist', 'release'))
  const version = pkg.version

  // A release folder holds one release: stale assets would end up beside a SHA256SUMS that
  // omits them. Only our own files are removed, so a mistyped --outdir loses nothing else.
  mkdirSync(outdir, { recursive: true })
  for (const name of readdirSync(outdir)) {
    if (name.startsWith('latchkey-') || name === 'SHA256SUMS') rmSync(join(outdir, name), { force: true })
  }
  const started = performance.now()
  await buildAssets()
  for (const target of targets) {
    const t0 = performance.now()
    const file = join(outdir, assetName(version, target))
    await compile(TARGETS[target], file)
    const mb = (statSync(file).size / 1048576).toFixed(1)
    console.log(`built ${assetName(version, target)} (${mb} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  }
  const names = readdirSync(outdir).filter((n) => n.startsWith('latchkey-')).sort()
  const lines: string[] = []
  for (const name of names) lines.push(`${await sha256(join(outdir, name))}  ${name}`)
  writeFileSync(join(outdir, 'SHA256SUMS'), lines.join('\n') + '\n')
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(`release ${version} (commit ${headCommit()}): ${names.length} executable${names.length === 1 ? '' : 's'} and SHA256SUMS in ${outdir} (${seconds} s)`)
}

if (import.meta.main) {
  await main(process.argv.slice(2)).catch((err) => {
    console.error(`release: ${err?.message ?? err}`)
    process.exit(1)
  })
}
