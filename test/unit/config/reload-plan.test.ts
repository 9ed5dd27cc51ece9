/**
 * planReload(): which options of a re-resolved configuration apply at once and which need a
 * restart, named as latchkey.yaml names them, from the real option table and resolveConfig.
 */
import { describe, expect, it } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from '../../../src/cli.ts'
import { resolveConfig } from '../../../src/config/resolve.ts'
import { planReload, RELOADABLE } from '../../../src/config/reload-plan.ts'

// One data dir for every configuration, as for one running latchkey.
const dir = mkdtempSync(join(tmpdir(), 'lk-plan-'))
writeFileSync(join(dir, 'key'), 'file-key-0123456789abcdef\n')

function configOf(yaml: string, argv: string[] = [], env: Record<string, string> = {}) {
  writeFileSync(join(dir, 'latchkey.yaml'), yaml.replace('KEYFILE', join(dir, 'key')))
  return resolveConfig(parseArgs(['--data-dir', dir, ...argv]), env)
}

describe('planReload', () => {
  it('plans nothing when the file resolves to the same configuration', () => {
    const yaml = 'admins: ["1"]\napps:\n  - { name: a, target: "http://127.0.0.1:9", port: 4000 }\n'
    expect(planReload(configOf(yaml), configOf(yaml))).toEqual({ apply: [], applied: [], needsRestart: [] })
  })

  it('applies the reloadable keys and names the rest as needing a restart, by their YAML names', () => {
    const before = configOf('host: 127.0.0.1\nadmins: ["1"]\ntunnels:\n  graceMs: 100\n')
    const after = configOf('host: 0.0.0.0\nadmins: ["1", "2"]\ntunnels:\n  graceMs: 200\n  cloudflareIngressPort: 8787\nlogLevel: debug\nallowedOrigins: [laptop.example]\n')
    const plan = planReload(before, after)
    expect(plan.apply.sort()).toEqual(['admins', 'allowedOrigins', 'tunnelGraceMs'])
    expect(plan.applied.sort()).toEqual(['admins', 'allowedOrigins', 'tunnels.graceMs'])
    expect(plan.needsRestart.sort()).toEqual(['host', 'logLevel', 'tunnels.cloudflareIngressPort'])
  })

  it('names an API key that came from apiKeyFile by that setting, and never carries the key', () => {
    const plan = planReload(configOf('apiKey: inline-key-0123456789abcdef\n'), configOf('apiKeyFile: KEYFILE\n'))
    expect(plan.applied.sort()).toEqual(['apiKeyFile'])
    expect(plan.apply.sort()).toEqual(['apiKey', 'apiKeyFile'])
    expect(JSON.stringify(plan)).not.toContain('0123456789abcdef')
  })

  it('sees no change where a flag or the environment wins over the file, as at start', () => {
    const plan = planReload(
      configOf('allowedOrigins: [a.example]\nappTimeoutMs: 1000\n', ['--allowed-origins', 'flag.example'], { LATCHKEY_APP_TIMEOUT_MS: '5000' }),
      configOf('allowedOrigins: [b.example]\nappTimeoutMs: 2000\n', ['--allowed-origins', 'flag.example'], { LATCHKEY_APP_TIMEOUT_MS: '5000' }),
    )
    expect(plan.apply).toEqual([])
  })

  it('lists only options of the table as reloadable', () => {
    const keys = new Set(Object.keys(configOf('')))
    for (const k of RELOADABLE) expect(keys.has(k)).toBe(true)
  })
})
