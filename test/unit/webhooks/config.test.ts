/** `webhooks:` in latchkey.yaml: field-level errors with the file position, defaults, secret files. */
import { describe, expect, it } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseYamlConfig } from '../../../src/config/yaml-config.ts'
import { WEBHOOK_EVENTS, readWebhookSecret, displayUrl } from '../../../src/webhooks/webhook-config.ts'

const PATH = '/etc/latchkey.yaml'
const parse = (text: string) => parseYamlConfig(text, PATH).get('webhooks')
const errorOf = (text: string): string => {
  try {
    parseYamlConfig(text, PATH)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('no error')
}

describe('webhooks in latchkey.yaml', () => {
  it('reads url, events and secretFile; events default to all', () => {
    const hooks = parse(
      'webhooks:\n  - url: https://ntfy.example.com/latchkey\n    events: [device.signed_in, tunnel.failed]\n    secretFile: /run/secrets/hook\n  - url: http://127.0.0.1:9000/x\n',
    )
    expect(hooks).toEqual([
      { url: 'https://ntfy.example.com/latchkey', events: ['device.signed_in', 'tunnel.failed'], secretFile: '/run/secrets/hook' },
      { url: 'http://127.0.0.1:9000/x', events: [...WEBHOOK_EVENTS] },
    ])
  })

  it.each([
    ['webhooks: https://x.example\n', 1, 11, '"webhooks" must be a list of webhooks'],
    ['webhooks:\n  - events: [tunnel.failed]\n', 2, 5, '"webhooks[0].url" must be an http:// or https:// URL'],
    ['webhooks:\n  - url: ftp://x.example/a\n', 2, 10, '"webhooks[0].url" must start with http:// or https://'],
    ['webhooks:\n  - url: https://user:pw@x.example/a\n', 2, 10, '"webhooks[0].url" must not contain credentials'],
    ['webhooks:\n  - url: https://x.example\n  - url: https://y.example\n    events: [tunnel.started, tunnel.exploded]\n', 4, 30, '"webhooks[1].events[1]" must be one of device.signed_in'],
    ['webhooks:\n  - url: https://x.example\n    events: []\n', 3, 13, '"webhooks[0].events" must be a non-empty list'],
    ['webhooks:\n  - url: https://x.example\n    secret: hunter2hunter2\n', 3, 5, '"webhooks[0].secret" is not a known webhook field'],
    ['webhooks:\n  - url: https://x.example\n    secretFile: ""\n', 3, 17, '"webhooks[0].secretFile" must be the path of a file'],
  ])('names the field and its position: %j', (text, line, column, message) => {
    const msg = errorOf(text)
    expect(msg).toStartWith(`Cannot read ${PATH}: line ${line}, column ${column}: ${message}`)
    expect(msg).not.toContain('hunter2')
  })

  it('reads a secret file, trimmed; a missing or empty one is a start-up error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-whsec-'))
    writeFileSync(join(dir, 'ok'), '  s3cret-value-123\n')
    writeFileSync(join(dir, 'empty'), '\n')
    expect(readWebhookSecret({ url: 'http://x/', events: [], secretFile: join(dir, 'ok') }, 0)).toBe('s3cret-value-123')
    expect(readWebhookSecret({ url: 'http://x/', events: [] }, 0)).toBeNull()
    expect(() => readWebhookSecret({ url: 'http://x/', events: [], secretFile: join(dir, 'empty') }, 2)).toThrow(`Cannot read ${join(dir, 'empty')}: the secret file of webhooks[2] is empty`)
    expect(() => readWebhookSecret({ url: 'http://x/', events: [], secretFile: join(dir, 'nope') }, 0)).toThrow('cannot read the secret file of webhooks[0] (ENOENT)')
  })

  it('shows a URL without its query', () => {
    expect(displayUrl('https://hooks.example.com/a/b?token=abc')).toBe('https://hooks.example.com/a/b?…')
    expect(displayUrl('http://127.0.0.1:8080/x')).toBe('http://127.0.0.1:8080/x')
  })
})
