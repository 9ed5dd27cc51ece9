/** The pinned-manifest installer against a local HTTP server: verified installs, everything else fails closed. */
import { afterAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { detectCloudflared, installCloudflared, loadManifest, platformKey } from '../../../src/tunnels/cloudflared-install.ts'

const BINARY = '#!/bin/sh\necho "cloudflared version 2026.8.2 (built 2026-08-20-0000 UTC)"\n'
const sha = (s: string) => createHash('sha256').update(s).digest('hex')
let hits = 0
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => (hits++, new Response(BINARY)) })
const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lk-cfi-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  server.stop(true)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function manifest(over: Record<string, unknown> = {}, asset: Record<string, unknown> = {}): string {
  const path = join(tmp(), 'manifest.json')
  writeFileSync(path, JSON.stringify({
    schema: 1, status: 'verified', version: '2026.8.2',
    assets: { [platformKey()]: { url: `http://127.0.0.1:${server.port}/cloudflared`, sha256: sha(BINARY), kind: 'binary', ...asset } },
    ...over,
  }))
  return path
}

describe('cloudflared install', () => {
  it('installs a download whose sha256 matches the pinned manifest, and detect then finds it', async () => {
    const dataDir = tmp()
    const r = await installCloudflared({ dataDir, manifestPath: manifest() })
    expect(r).toMatchObject({ installed: true, path: join(dataDir, 'bin', 'cloudflared'), sha256: sha(BINARY) })
    expect(readFileSync(r.path, 'utf8')).toBe(BINARY)
    expect(statSync(r.path).mode & 0o111).not.toBe(0)
    const d = await detectCloudflared({ dataDir, env: { PATH: '/nonexistent' } })
    expect(d).toMatchObject({ installed: true, path: r.path, version: '2026.8.2' })
  })

  it('fails closed on a checksum mismatch and installs nothing', async () => {
    const dataDir = tmp()
    const err = await installCloudflared({ dataDir, manifestPath: manifest({}, { sha256: sha('something else') }) }).catch((e) => e)
    expect(err.code).toBe('checksum_mismatch')
    expect(existsSync(join(dataDir, 'bin', 'cloudflared'))).toBe(false)
  })

  const refused: [string, () => string, string][] = [
    ['an unverified manifest', () => manifest({ status: 'upstream-pending-verification' }), 'manifest_unverified'],
    ['a missing sha256', () => manifest({}, { sha256: null }), 'manifest_unverified'],
    ['plain http to a non-loopback host', () => manifest({}, { url: 'http://downloads.example.com/cloudflared' }), 'manifest_unverified'],
    ['no asset for this platform', () => manifest({ assets: {} }), 'platform_unsupported'],
  ]
  for (const [name, make, code] of refused) {
    it(`refuses ${name} before downloading anything`, async () => {
      const before = hits
      const err = await installCloudflared({ dataDir: tmp(), manifestPath: make() }).catch((e) => e)
      expect(err.code).toBe(code)
      expect(err.status).toBe(409)
      expect(hits).toBe(before)
    })
  }

  it('ships an unverified manifest, so auto-download is off until maintainers pin one', async () => {
    expect(loadManifest(undefined).status).toBe('upstream-pending-verification')
    const d = await detectCloudflared({ dataDir: tmp(), env: { PATH: '/nonexistent' } })
    expect(d.installed).toBe(false)
    expect(d.autoInstall.available).toBe(false)
    expect(Object.keys(d.install.commands)).toEqual(['apt', 'brew', 'winget', 'manual'])
  })
})
