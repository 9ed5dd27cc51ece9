/**
 * SIGHUP in a terminal (tmux, a real pseudo-terminal): `kill -HUP` reloads the config and
 * latchkey stays up, with the terminal interface and with plain log lines; the terminal
 * closing (a hang-up, also SIGHUP) still stops it.
 */
import { afterEach, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { rmSync } from 'node:fs'
import { tempDir } from '../../helpers/latchkey.ts'
import { readReloadRecord } from '../../../src/server/reload-status.ts'
import { Pane, alive, latchkeyCommand, runtimeInfo } from '../tui/pane.ts'

setDefaultTimeout(40_000)

let pane: Pane | null = null
let dataDir = ''
let pid = 0

afterEach(() => {
  pane?.close()
  pane = null
  if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
  pid = 0
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

async function until(what: () => boolean, timeoutMs: number, label: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`)
    await Bun.sleep(50)
  }
}

describe('SIGHUP in a terminal', () => {
  for (const [name, extra] of [['the terminal interface', []], ['plain log lines (--no-tui)', ['--no-tui']]] as const) {
    it(`with ${name}: kill -HUP reloads and latchkey stays; closing the terminal stops it`, async () => {
      dataDir = tempDir('lk-hup-')
      pane = new Pane()
      pane.type(latchkeyCommand(dataDir, [...extra]))
      pid = (await runtimeInfo(dataDir)).pid
      process.kill(pid, 'SIGHUP')
      await until(() => readReloadRecord(dataDir)?.ok === true, 10_000, 'the reload record')
      expect(readReloadRecord(dataDir)).toMatchObject({ pid, ok: true, trigger: 'signal', applied: [] })
      await Bun.sleep(300)
      expect(alive(pid)).toBe(true)

      // The hang-up check (src/server/hangup.ts) is what stops the terminal interface here;
      // with plain log lines the next write to the hung-up terminal would stop it anyway, so
      // only the first case proves the check (it keeps running without it).
      pane.close()
      pane = null
      await until(() => !alive(pid), 15_000, 'latchkey to stop after the hang-up')
    })
  }
})
