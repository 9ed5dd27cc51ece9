import { describe, expect, it } from 'bun:test'
import { parseYamlConfig } from '../../../src/config/yaml-config.ts'

const parse = (text: string) => parseYamlConfig(text, '/x/latchkey.yaml')

describe('latchkey.yaml', () => {
  it('reads known keys into option values', () => {
    const v = parse('host: 0.0.0.0\nport: 3100\nadmins:\n  - "12345"  # alice\ntailscale:\n  socket: /tmp/ts.sock\n')
    expect(v.get('host')).toBe('0.0.0.0')
    expect(v.get('port')).toBe(3100)
    expect(v.get('admins')).toEqual(['12345'])
    expect(v.get('tailscaleSocket')).toBe('/tmp/ts.sock')
  })

  it('reports malformed YAML with the file, line and column', () => {
    expect(() => parse('host: 0.0.0.0\nport: [3000\n')).toThrow(/^Cannot read \/x\/latchkey\.yaml: line \d+, column \d+: invalid YAML/)
  })

  it.each([
    ['logLevel: info\nhost: @x\n', 2, 7, 'Plain value cannot start with reserved character @'],
    ['logLevel: info\nhost: a: b\n', 2, 7, 'Nested mappings are not allowed in compact mappings'],
    ['logLevel: info\nallowedOrigins: [a, b}\n', 2, 22, 'Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['port: 1\n\tx: 2\n', 2, 1, 'Tabs are not allowed as indentation'],
  ])('reports a syntax error at the line and column the parser gives, not 1:1 (%j)', (text, line, column, detail) => {
    expect(() => parse(text)).toThrow(`Cannot read /x/latchkey.yaml: line ${line}, column ${column}: invalid YAML: ${detail}`)
  })

  it('reports an unknown key with a did-you-mean', () => {
    expect(() => parse('host: a\nallowedOrigin: [x]\n')).toThrow('Cannot read /x/latchkey.yaml: line 2, column 1: unknown key "allowedOrigin": did you mean "allowedOrigins"?')
  })

  it('reports an unknown nested key with its dotted path', () => {
    expect(() => parse('tailscale:\n  sockett: /x\n')).toThrow('line 2, column 3: unknown key "tailscale.sockett": did you mean "tailscale.socket"?')
  })

  it('reports a wrong type at the value position', () => {
    expect(() => parse('port: 99999\n')).toThrow('line 1, column 7: "port" must be 1-65535')
    expect(() => parse('adminAllowLocalhost: maybe\n')).toThrow('"adminAllowLocalhost" must be true or false')
    expect(() => parse('admins: 12345\n')).toThrow('"admins" must be a list')
  })

  it('reports a duplicate key', () => {
    expect(() => parse('port: 1\nport: 2\n')).toThrow('line 2, column 1: duplicate key "port"')
  })

  it('validates app entries field by field', () => {
    expect(() => parse('apps:\n  - name: Bad Name\n    target: http://127.0.0.1:1\n')).toThrow('"apps[0].name" must be lowercase')
    expect(() => parse('apps:\n  - name: ok\n    target: ftp://x\n')).toThrow('"apps[0].target" must start with http:// or https://')
  })

  it('treats an empty file as no settings', () => {
    expect(parse('').size).toBe(0)
    expect(parse('# only a comment\n').size).toBe(0)
  })
})
