/**
 * cloudflared detection and install (runbook §1.4 "Dashboard note"): detection reports the
 * executable and the install commands for this platform; the one-click install downloads only
 * what a pinned manifest lists (URL + sha256 per platform asset) and fails closed: an
 * unverified manifest, a missing checksum or a checksum mismatch installs nothing.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError, ConflictError } from '../errors.ts'
import { findExecutable } from './find-executable.ts'
import { runCommand } from './run-command.ts'
import shippedManifest from './cloudflared-manifest.json' with { type: 'json' }

export interface ManifestAsset {
  url: string
  sha256: string | null
  kind: 'binary'
}

export interface Manifest {
  schema: number
  status: 'verified' | 'upstream-pending-verification'
  version: string
  assets: Record<string, ManifestAsset>
}

const MAX_BYTES = 256 * 1024 * 1024

/** `<os>-<arch>` as Node names them, e.g. linux-x64. */
export const platformKey = () => `${process.platform}-${process.arch}`

export const installDir = (dataDir: string) => join(dataDir, 'bin')

/** Package-manager and manual commands, the recommended one first for this platform. */
export function installCommands(platform = process.platform) {
  const all = {
    apt: [
      'sudo mkdir -p --mode=0755 /usr/share/keyrings',
      'curl -fsSL https://pkg.cloudflare.com/cloudflare-main.gpg | sudo tee /usr/share/keyrings/cloudflare-main.gpg >/dev/null',
      "echo 'deb [signed-by=/usr/share/keyrings/cloudflare-main.gpg] https://pkg.cloudflare.com/cloudflared any main' | sudo tee /etc/apt/sources.list.d/cloudflared.list",
      'sudo apt-get update && sudo apt-get install cloudflared',
    ].join('\n'),
    brew: 'brew install cloudflared',
    winget: 'winget install --id Cloudflare.cloudflared',
    manual: 'Download cloudflared for your platform from https://github.com/cloudflare/cloudflared/releases and put it on PATH',
  }
  const recommended = platform === 'darwin' ? 'brew' : platform === 'win32' ? 'winget' : 'apt'
  return { recommended, commands: all }
}

export function loadManifest(path: string | undefined): Manifest {
  if (!path) return shippedManifest as Manifest
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest
  } catch {
    throw new ConflictError('manifest_unverified', 'Cannot install cloudflared: the pinned manifest cannot be read; install it with a package manager instead')
  }
}

/** GET /api/remote/providers/cloudflare/detect. */
export async function detectCloudflared(opts: { dataDir: string; manifestPath?: string; env?: NodeJS.ProcessEnv }) {
  const path = findExecutable('cloudflared', { extraDirs: [installDir(opts.dataDir)], path: opts.env?.PATH })
  let version: string | null = null
  if (path) {
    const r = await runCommand(path, ['--version'], { env: opts.env, timeoutMs: 5000 })
    version = /version (\S+)/.exec(r.stdout)?.[1] ?? null
  }
  let auto: { available: boolean; reason: string | null }
  try {
    pickAsset(loadManifest(opts.manifestPath))
    auto = { available: true, reason: null }
  } catch (err) {
    auto = { available: false, reason: (err as Error).message }
  }
  return { installed: Boolean(path), path, version, platform: platformKey(), install: installCommands(), autoInstall: auto }
}

function pickAsset(m: Manifest): ManifestAsset {
  if (m?.status !== 'verified') {
    throw new ConflictError('manifest_unverified', 'Cannot install cloudflared: the pinned manifest is not verified yet; install it with a package manager (see the detect response)')
  }
  const asset = m.assets?.[platformKey()]
  if (!asset) throw new ConflictError('platform_unsupported', `Cannot install cloudflared: the pinned manifest has no asset for ${platformKey()}; install it with a package manager`)
  if (!asset.sha256 || !/^[0-9a-f]{64}$/i.test(asset.sha256)) {
    throw new ConflictError('manifest_unverified', `Cannot install cloudflared: the pinned manifest has no sha256 for ${platformKey()}`)
  }
  let url: URL
  try {
    url = new URL(asset.url)
  } catch {
    throw new ConflictError('manifest_unverified', 'Cannot install cloudflared: the pinned manifest URL is invalid')
  }
  // https only; plain http is allowed for loopback (local mirrors, tests).
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
    throw new ConflictError('manifest_unverified', 'Cannot install cloudflared: the pinned manifest URL must use https')
  }
  if (asset.kind !== 'binary') throw new ConflictError('platform_unsupported', 'Cannot install cloudflared: only single-binary assets can be installed automatically')
  return asset
}

/** POST /api/remote/providers/cloudflare/install: download, verify, install into <dataDir>/bin. */
export async function installCloudflared(opts: { dataDir: string; manifestPath?: string; timeoutMs?: number }) {
  const asset = pickAsset(loadManifest(opts.manifestPath))
  let bytes: Uint8Array
  try {
    const res = await fetch(asset.url, { redirect: 'follow', signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    const len = Number(res.headers.get('content-length') ?? 0)
    if (len > MAX_BYTES) throw new Error('too large')
    bytes = new Uint8Array(await res.arrayBuffer())
    if (bytes.byteLength > MAX_BYTES) throw new Error('too large')
  } catch (err) {
    throw new ApiError(502, 'download_failed', `Cannot download cloudflared: ${(err as Error).message}; install it with a package manager instead`)
  }
  // node:crypto for an install only, not at every start (its load is costly on Bun).
  const { createHash, randomBytes } = process.getBuiltinModule('node:crypto')
  const actual = createHash('sha256').update(bytes).digest('hex')
  if (actual !== asset.sha256!.toLowerCase()) {
    throw new ApiError(502, 'checksum_mismatch', 'Cannot install cloudflared: the download does not match the pinned sha256; nothing was installed')
  }
  const dir = installDir(opts.dataDir)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const target = join(dir, process.platform === 'win32' ? 'cloudflared.exe' : 'cloudflared')
  const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`
  try {
    writeFileSync(tmp, bytes, { mode: 0o700 })
    chmodSync(tmp, 0o755)
    renameSync(tmp, target)
  } catch (err) {
    try {
      unlinkSync(tmp)
    } catch {}
    throw err
  }
  return { installed: true, path: target, sha256: actual }
}
