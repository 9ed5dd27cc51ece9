import { describe, expect, it } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, helpText, OPTIONS } from '../../../src/cli.ts'
import { resolveConfig } from '../../../src/config/resolve.ts'
import { tempDir } from '../../helpers/latchkey.ts'

describe('parseArgs', () => {
  it('rejects an unknown flag and suggests the closest one', () => {
    expect(() => parseArgs(['--prot', '3000'])).toThrow('Unknown option "--prot": did you mean "--port"?')
  })

  it('rejects a port outside 0-65535 naming the option', () => {
    expect(() => parseArgs(['--port', '70000'])).toThrow('Invalid option "--port"')
    expect(() => parseArgs(['--api-port', 'abc'])).toThrow('"apiPort" must be a port number')
  })

  it('rejects a flag that needs a value when none follows', () => {
    expect(() => parseArgs(['--host'])).toThrow('Option "--host" needs a value')
  })

  it('rejects an unknown command with a suggestion', () => {
    expect(() => parseArgs(['serv'])).toThrow('did you mean "serve"?')
  })

  it('accepts --flag=value and repeatable --app', () => {
    const a = parseArgs(['--host=0.0.0.0', '--app', 'a=http://127.0.0.1:1', '--app', 'b=http://127.0.0.1:2'])
    expect(a.flags.get('host')).toBe('0.0.0.0')
    expect(a.flags.get('apps')).toEqual(['a=http://127.0.0.1:1', 'b=http://127.0.0.1:2'])
  })
})

describe('helpText', () => {
  it('lists every flag with its env var', () => {
    const text = helpText('1.2.3')
    for (const o of OPTIONS.filter((o) => o.flag)) {
      expect(text).toContain(o.flag!)
      if (o.env) expect(text).toContain(o.env)
    }
    expect(text).toContain('(default: 3000)')
  })

  it('says where --host listens by default in a container, not only the loopback default', () => {
    const host = helpText('1.2.3').split('\n').find((l) => l.trimStart().startsWith('--host '))!
    expect(host).toContain('(default: 127.0.0.1; 0.0.0.0 in a container, with the token required)')
  })
})

describe('resolveConfig', () => {
  const withYaml = (yaml: string) => {
    const dir = tempDir()
    writeFileSync(join(dir, 'latchkey.yaml'), yaml)
    return dir
  }

  it('takes flag over env over YAML over default', () => {
    const dir = withYaml('host: 10.0.0.3\nport: 4000\napiPort: 4001\nallowedOrigins: [yaml.example]\n')
    const env = { LATCHKEY_PORT: '5000', LATCHKEY_ALLOWED_ORIGINS: 'env.example' }
    const c = resolveConfig(parseArgs(['--data-dir', dir, '--port', '6000']), env)
    expect(c.port).toBe(6000)
    expect(c.sources.port).toBe('flag')
    expect(c.allowedOrigins).toEqual(['env.example'])
    expect(c.sources.allowedOrigins).toBe('env')
    expect(c.host).toBe('10.0.0.3')
    expect(c.sources.host).toBe('yaml')
    expect(c.apiPort).toBe(4001)
    expect(c.logLevel).toBe('info')
    expect(c.sources.logLevel).toBe('default')
  })

  it('lets --auth-token win over LATCHKEY_AUTH_TOKEN', () => {
    const dir = tempDir()
    expect(resolveConfig(parseArgs(['--data-dir', dir, '--auth-token', 'from-flag-123456']), { LATCHKEY_AUTH_TOKEN: 'from-env-1234567' }).authToken).toBe('from-flag-123456')
    expect(resolveConfig(parseArgs(['--data-dir', dir]), { LATCHKEY_AUTH_TOKEN: 'from-env-1234567' }).authToken).toBe('from-env-1234567')
  })

  it('uses LATCHKEY_HOME as the data dir when no flag is given', () => {
    const dir = tempDir()
    expect(resolveConfig(parseArgs([]), { LATCHKEY_HOME: dir }).dataDir).toBe(dir)
  })

  it('treats a missing default latchkey.yaml as empty but a missing --config file as an error', () => {
    const dir = tempDir()
    expect(resolveConfig(parseArgs(['--data-dir', dir]), {}).port).toBe(3000)
    expect(() => resolveConfig(parseArgs(['--data-dir', dir, '--config', join(dir, 'nope.yaml')]), {})).toThrow('nope.yaml: no such file')
  })

  it('names the env var in a bad env value error', () => {
    expect(() => resolveConfig(parseArgs(['--data-dir', tempDir()]), { LATCHKEY_API_PORT: 'eighty' })).toThrow('Invalid environment variable LATCHKEY_API_PORT')
  })

  it('reads the API key from apiKeyFile in preference to apiKey', () => {
    const dir = withYaml('apiKey: inline-key-123456\n')
    const keyFile = join(dir, 'key')
    writeFileSync(keyFile, 'file-key-abcdef\n')
    expect(resolveConfig(parseArgs(['--data-dir', dir]), {}).apiKey).toBe('inline-key-123456')
    expect(resolveConfig(parseArgs(['--data-dir', dir, '--api-key-file', keyFile]), {}).apiKey).toBe('file-key-abcdef')
  })
})
