/**
 * A fixed access token or API key shorter than 16 characters starts latchkey with a loud
 * warning (a WARN log line and a banner line) that names the setting and the rule, never
 * the secret; 16 characters or more start quietly.
 */
import { describe, expect, it } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, tempDir, type StartOptions } from '../helpers/latchkey.ts'

const SHORT = 'hunter2'
const LONG = 'h7Tq2-Lw9xZ4pR6m'

async function output(opts: StartOptions): Promise<string> {
  const lk = await startLatchkey(opts)
  try {
    return lk.output()
  } finally {
    await lk.stop()
  }
}

/** The WARN log line and the banner line for the secret `what` set by `setting`. */
function expectWarning(out: string, what: 'access token' | 'API key', setting: string): void {
  const log = out.split('\n').find((l) => l.includes(` WARN  the ${what} from ${setting} `))
  expect(log).toContain(`${setting} is shorter than 16 characters and could be guessed: use 16 or more random characters`)
  expect(out).toContain(`\n⚠ WARNING: the ${what} from ${setting} is shorter than 16 characters`)
}

describe('short fixed secrets', () => {
  it('warns about a short LATCHKEY_AUTH_TOKEN in the log and the banner, without the token', async () => {
    const out = await output({ env: { LATCHKEY_AUTH_TOKEN: SHORT } })
    expectWarning(out, 'access token', 'LATCHKEY_AUTH_TOKEN')
    expect(out).not.toContain(SHORT)
  })

  it('warns about a short --auth-token, naming the flag', async () => {
    const out = await output({ args: ['--auth-token', SHORT] })
    expectWarning(out, 'access token', '--auth-token')
    expect(out).not.toContain(SHORT)
  })

  it('warns about a short API key from LATCHKEY_API_KEY, apiKey in latchkey.yaml and an API key file', async () => {
    const env = await output({ env: { LATCHKEY_API_KEY: SHORT } })
    expectWarning(env, 'API key', 'LATCHKEY_API_KEY')
    const yaml = await output({ yaml: `apiKey: ${SHORT}\n` })
    expectWarning(yaml, 'API key', 'apiKey in latchkey.yaml')
    const file = join(tempDir('lk-key-'), 'api.key')
    writeFileSync(file, `${SHORT}\n`)
    const fromFile = await output({ args: ['--api-key-file', file] })
    expectWarning(fromFile, 'API key', 'the file of --api-key-file')
    for (const out of [env, yaml, fromFile]) expect(out).not.toContain(SHORT)
  })

  it('warns in headless mode and with remote access on too, still without the secret', async () => {
    const out = await output({ args: ['serve', '--host', '0.0.0.0'], env: { LATCHKEY_AUTH_TOKEN: SHORT, LATCHKEY_API_KEY: SHORT } })
    expectWarning(out, 'access token', 'LATCHKEY_AUTH_TOKEN')
    expectWarning(out, 'API key', 'LATCHKEY_API_KEY')
    expect(out).not.toContain(SHORT)
  })

  it('starts without a warning when every secret has 16 characters or more', async () => {
    const out = await output({ env: { LATCHKEY_AUTH_TOKEN: LONG, LATCHKEY_API_KEY: LONG + 'x' } })
    expect(out).not.toContain('shorter than 16')
    expect(out).not.toContain('WARNING')
    expect(out).not.toContain(LONG)
  })
})
