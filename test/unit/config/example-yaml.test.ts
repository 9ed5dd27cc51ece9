import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { exampleYaml } from '../../../src/config/example-yaml.ts'
import { parseYamlConfig } from '../../../src/config/yaml-config.ts'
import { OPTIONS } from '../../../src/cli.ts'
import { ROOT } from '../../helpers/latchkey.ts'

describe('latchkey.example.yaml', () => {
  it('is up to date with the option table (run npm run gen:example)', () => {
    expect(readFileSync(join(ROOT, 'latchkey.example.yaml'), 'utf8')).toBe(exampleYaml())
  })

  it('mentions every YAML key', () => {
    const text = exampleYaml()
    for (const o of OPTIONS.filter((o) => o.yaml)) expect(text).toContain(`${o.yaml!.split('.').at(-1)}:`)
  })

  it('parses as a valid latchkey.yaml once uncommented', () => {
    const uncommented = exampleYaml()
      .split('\n')
      // A secret has no sensible default to uncomment.
      .filter((l) => !l.startsWith('# apiKey: '))
      .filter((l) => /^# {0,3}[a-zA-Z -]/.test(l) && !/^# [A-Z]/.test(l) && !/^#   # /.test(l) && !/^# latchkey\.yaml|^# Every key/.test(l))
      .map((l) => l.slice(2))
      .join('\n')
    const values = parseYamlConfig(uncommented, 'example.yaml')
    expect(values.get('port')).toBe(3000)
    expect(values.get('admins')).toEqual(['12345'])
    expect((values.get('apps') as unknown[]).length).toBe(2)
  })
})
