/**
 * Hostile input, property-based (issue 10): latchkey.yaml, settings.json and the command
 * line. Whatever the input, the answer is a value or latchkey's own positioned error
 * (ConfigError with a line and column, UsageError), never another exception.
 * Each property runs with a fixed seed (FC_SEED overrides it); a failure prints the seed and
 * the shrunk counterexample.
 */
import { afterAll, describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { parseYamlConfig } from '../../src/config/yaml-config.ts'
import { SettingsStore, checkSettings } from '../../src/config/settings-store.ts'
import { OPTIONS, parseArgs } from '../../src/cli.ts'
import { resolveConfig } from '../../src/config/resolve.ts'
import { ConfigError, UsageError } from '../../src/errors.ts'
import { tempDir } from '../helpers/latchkey.ts'

const SEED = Number(process.env.FC_SEED ?? 20240610)
const RUNS = 300
const check = <T>(prop: fc.IProperty<T> | fc.IAsyncProperty<T>, numRuns = RUNS) => fc.assert(prop as fc.IProperty<T>, { seed: SEED, numRuns, verbose: 1 })

/** Apply a list of edits (insert, delete, replace one character) to text. */
const mutation = fc.array(
  fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'delete', 'replace'), ch: fc.constantFrom(...' \t\n:-[]{}"\',#&*!|>%@`?\\0123456789abcxyz~.\u0000\u00e9') }),
  { minLength: 1, maxLength: 6 },
)
function mutate(text: string, edits: { at: number; kind: string; ch: string }[]): string {
  let out = text
  for (const e of edits) {
    const i = out.length === 0 ? 0 : e.at % (out.length + 1)
    if (e.kind === 'insert') out = out.slice(0, i) + e.ch + out.slice(i)
    else if (e.kind === 'delete') out = out.slice(0, i) + out.slice(i + 1)
    else out = out.slice(0, i) + e.ch + out.slice(i + 1)
  }
  return out
}

/** The positioned-error contract: ConfigError naming the file, with a line and column >= 1. */
function expectPositioned(err: unknown, path: string): void {
  if (!(err instanceof ConfigError)) throw new Error(`not a ConfigError: ${(err as Error)?.stack ?? err}`)
  expect(err.where?.path).toBe(path)
  expect(err.where?.line).toBeGreaterThanOrEqual(1)
  expect(err.where?.column).toBeGreaterThanOrEqual(1)
  expect(err.message).toStartWith(`Cannot read ${path}: line `)
}

const VALID_YAML = [
  'host: 0.0.0.0',
  'port: 3100',
  'apiPort: 8100',
  'allowedOrigins: [laptop.tailnet.ts.net, "https://phone.example:8443"]',
  'admins:',
  '  - "12345"   # alice',
  'adminAllowLocalhost: false',
  'apiKey: 0123456789abcdef',
  'logLevel: debug',
  'tailscale:',
  '  identity: auto',
  '  socket: /tmp/ts.sock',
  '  trustServeHeaders: true',
  'tunnels:',
  '  graceMs: 1500',
  'apps:',
  '  - name: notebook',
  '    target: http://127.0.0.1:8888',
  '    port: 3101',
  '  - name: grafana',
  '    target: http://127.0.0.1:3001',
  '    path: /apps/grafana',
  '    role: admin',
  'webhooks:',
  '  - url: https://hooks.example/latchkey',
  '    events: [device.signed_in, admin.denied]',
  '',
].join('\n')

const yamlKeys = [...OPTIONS.filter((o) => o.yaml).map((o) => o.yaml!.split('.')[0])]
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, true, 0, -1, 65536, 1.5, '', 'x', [], {}, [{}], [null], '~', '0x10'))

describe('latchkey.yaml (parseYamlConfig)', () => {
  const path = '/fuzz/latchkey.yaml'
  const parse = (text: string) => {
    try {
      return parseYamlConfig(text, path)
    } catch (err) {
      expectPositioned(err, path)
      return null
    }
  }

  it('parses the valid fixture (the control for the mutations below)', () => {
    const v = parseYamlConfig(VALID_YAML, path)
    expect(v.get('port')).toBe(3100)
    expect((v.get('apps') as unknown[]).length).toBe(2)
  })

  it('answers arbitrary text with values or a positioned ConfigError', () => {
    check(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => void parse(text)))
  })

  it('answers arbitrary YAML documents with values or a positioned ConfigError', () => {
    check(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => void parse(stringify(value))))
  })

  it('answers documents of known keys with arbitrary values with values or a positioned ConfigError', () => {
    const doc = fc.dictionary(fc.constantFrom(...yamlKeys, 'apps', 'webhooks', 'tailscale', 'tunnels', 'unknownKey'), anyValue, { maxKeys: 6 })
    check(fc.property(doc, (value) => void parse(stringify(value))))
  })

  it('answers mutations of a valid file with values or a positioned ConfigError', () => {
    check(fc.property(mutation, (edits) => void parse(mutate(VALID_YAML, edits))))
  })

  it('answers YAML features (anchors, aliases, tags, multi-documents, merge keys) with values or a positioned ConfigError', () => {
    const pieces = fc.constantFrom(
      'a: &x 1\n', 'port: *x\n', 'apps: *x\n', '<<: {port: 1}\n', '--- \n', '...\n', 'port: !!str 3000\n', 'port: !custom 1\n',
      'admins: [*x]\n', '? [a, b]\n: c\n', 'host: !!binary aGk=\n', '%YAML 1.2\n---\n', 'apps:\n  - *x\n', 'tailscale: &t {socket: /x}\ntunnels: *t\n',
      'host: "\\u0000"\n', 'port: 0o777\n', 'port: .inf\n', 'port: 1e3\n', 'admins: [1, 2.5, true]\n',
    )
    check(fc.property(fc.array(pieces, { minLength: 1, maxLength: 5 }), (parts) => void parse(parts.join(''))))
  })
})

describe('settings.json (SettingsStore.parse, checkSettings)', () => {
  const path = '/fuzz/settings.json'
  const valid = {
    version: 1,
    remoteAccess: {
      enabled: true,
      activeProvider: 'cloudflare',
      providers: { tailscale: { enabled: false, hostname: 'box.tailnet.ts.net', targetPort: 8443 }, cloudflare: { enabled: true, quickTunnel: true } },
      tokenStrategy: { persistent: { enabled: true, token: 'abcdefghijklmnopqrstuvwxyz012345' }, shortLived: { ttlMs: 60000 } },
      lifecycle: { rememberLastRunning: true },
    },
    apps: [{ name: 'notebook', target: 'http://127.0.0.1:8888', port: 3101 }],
    preferences: { local: { theme: 'dark', pinnedApps: ['notebook'] } },
  }
  const validText = JSON.stringify(valid, null, 2)
  const parse = (text: string) => {
    try {
      return SettingsStore.parse(text, path)
    } catch (err) {
      expectPositioned(err, path)
      return null
    }
  }

  it('parses the valid fixture (the control for the mutations below)', () => {
    expect(parse(validText)?.remoteAccess.activeProvider).toBe('cloudflare')
  })

  it('answers arbitrary text with settings or a positioned ConfigError', () => {
    check(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => void parse(text)))
  })

  it('answers arbitrary JSON values with settings or a positioned ConfigError', () => {
    check(fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => void parse(JSON.stringify(value, null, 1))))
  })

  it('answers mutations of valid settings text with settings or a positioned ConfigError', () => {
    check(fc.property(mutation, (edits) => void parse(mutate(validText, edits))))
  })

  it('answers valid settings with one field replaced by an arbitrary value with settings or a positioned ConfigError', () => {
    const paths: string[][] = []
    const walk = (o: unknown, at: string[]) => {
      if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) (paths.push([...at, k]), walk(v, [...at, k]))
    }
    walk(valid, [])
    check(
      fc.property(fc.constantFrom(...paths), anyValue, (at, value) => {
        const copy = structuredClone(valid) as any
        let o = copy
        for (const k of at.slice(0, -1)) o = o[k]
        o[at.at(-1)!] = value
        const text = JSON.stringify(copy, null, 2)
        const direct = checkSettings(JSON.parse(text))
        const viaParse = parse(text)
        // The API path (checkSettings) and the file path (parse) agree on what is valid.
        expect(direct.problem === undefined).toBe(viaParse !== null)
        if (direct.problem) expect(direct.problem.message).toContain(`"${direct.problem.field}"`)
      }),
    )
  })

  it('reports deeply nested JSON as an error, not a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    expect(parse(deep)).toBeNull()
    expect(parse('{"a":' .repeat(50_000) + '1' + '}'.repeat(50_000))).toBeNull()
  })

  it('answers prototype-polluting keys without polluting', () => {
    for (const text of ['{"__proto__": {"polluted": 1}}', '{"remoteAccess": {"__proto__": {"enabled": true}}}', '{"constructor": {"prototype": {"polluted": 1}}}']) parse(text)
    expect(({} as any).polluted).toBeUndefined()
  })
})

describe('command line (parseArgs, resolveConfig)', () => {
  const root = tempDir('lk-fuzz-cli-')
  const dataDir = join(root, 'data')
  mkdirSync(dataDir)
  writeFileSync(join(root, 'empty-key'), '\n')
  writeFileSync(join(root, 'key'), 'fuzz-api-key-0123456789\n')
  writeFileSync(join(root, 'bad.yaml'), 'port: [\n')
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  const flags = OPTIONS.filter((o) => o.flag).map((o) => o.flag!)
  const values = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('', '0', '1', '65535', '65536', '-1', '3000', 'true', 'no', 'maybe', '0.0.0.0', 'http://x', 'https://h:1/p/', 'ftp://x', 'debug', 'a,b,,c', 'n=http://127.0.0.1:1', '=http://x', 'n=ftp://x', 'Bad=http://x'),
    fc.constantFrom(join(root, 'key'), join(root, 'empty-key'), join(root, 'missing'), join(root, 'bad.yaml'), root),
  )
  const arg = fc.oneof(
    fc.constantFrom(...flags, '--', '-h', '--help', '-v', '-x', '--nope', '--host=', '--port=', 'serve', 'doctor', 'tunnel', 'servee', 'version'),
    fc.tuple(fc.constantFrom(...flags), values).map(([f, v]) => `${f}=${v}`),
    values,
  )
  const envVars = OPTIONS.filter((o) => o.env && o.key !== 'dataDir' && o.key !== 'containerRoot').map((o) => o.env!)
  const env = fc.dictionary(fc.constantFrom(...envVars), values, { maxKeys: 4 })

  it('parses argv into a command or throws a UsageError, and resolves it into a Config or a Usage/ConfigError', () => {
    let resolved = 0
    check(
      fc.property(fc.array(arg, { maxLength: 6 }), env, (argv, environment) => {
        let parsed
        try {
          parsed = parseArgs(argv)
        } catch (err) {
          if (!(err instanceof UsageError)) throw err
          expect(err.message.length).toBeGreaterThan(0)
          return
        }
        parsed.flags.set('dataDir', dataDir)
        try {
          const config = resolveConfig(parsed, environment)
          expect(typeof config.port).toBe('number')
          resolved++
        } catch (err) {
          if (!(err instanceof UsageError) && !(err instanceof ConfigError)) throw err
        }
      }),
      500,
    )
    // Not vacuous: a good share of the inputs made it all the way to a Config.
    expect(resolved).toBeGreaterThan(20)
  })

  it('never accepts an empty API key or auth token from any source', () => {
    for (const argv of [['--auth-token='], ['--auth-token', '']]) expect(() => parseArgs(argv)).toThrow(UsageError)
    const config = resolveConfig(parseArgs(['--data-dir', dataDir]), { LATCHKEY_API_KEY: '', LATCHKEY_AUTH_TOKEN: '' })
    expect(config.apiKey).toBeUndefined()
    expect(config.authToken).toBeUndefined()
    expect(() => resolveConfig(parseArgs(['--data-dir', dataDir, '--api-key-file', join(root, 'empty-key')]), {})).toThrow(ConfigError)
    expect(() => parseYamlConfig('apiKey: ""\n', '/x.yaml')).toThrow(ConfigError)
    expect(() => parseYamlConfig('apiKey:\n', '/x.yaml')).toThrow(ConfigError)
  })
})
