/**
 * The terminal is never left in raw mode or on the alternate screen: after SIGTERM, after a
 * crash (an uncaught exception injected with a preload), and after SIGKILL (the guardian
 * process; ../../../src/tui/guardian.ts). Also: --no-tui and LATCHKEY_NO_TUI give plain log
 * lines even in a terminal.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../../helpers/latchkey.ts'
import { Pane, alive, latchkeyCommand, runtimeInfo } from './pane.ts'

/** `stty -a` flags that cooked mode has on (raw mode turns them all off). */
const COOKED = ['icanon', 'echo', 'isig', 'icrnl', 'opost']
const modesOf = (sttyA: string) => new Set(sttyA.split(/[\s;]+/))
const PRINT_MODES = 'stty -a | tr -s " ;" "\\n\\n" | grep -xE -- "-?(icanon|echo|isig|icrnl|opost)" | sort | paste -sd, -'

let cleanup: (() => void)[] = []
afterEach(() => {
  for (const f of cleanup.splice(0)) f()
})

async function startTui(extraEnv: Record<string, string> = {}, wrap = (cmd: string, _dataDir: string) => `${cmd}; echo "exit=$?"`) {
  const dataDir = tempDir('lk-tui-')
  const pane = new Pane({ cols: 140, rows: 40, env: extraEnv })
  cleanup.push(() => {
    pane.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  pane.type(wrap(latchkeyCommand(dataDir, ['--host', '127.0.0.1']), dataDir))
  const info = await runtimeInfo(dataDir)
  cleanup.unshift(() => {
    if (alive(info.pid)) process.kill(info.pid, 'SIGKILL')
  })
  await pane.waitFor(/Recent events/)
  expect(pane.alternateOn()).toBe(true)
  return { pane, info, dataDir }
}

async function expectCookedTerminal(pane: Pane) {
  expect(pane.alternateOn()).toBe(false)
  expect(pane.format('#{cursor_flag}')).toBe('1')
  pane.type(PRINT_MODES)
  await pane.waitFor(new RegExp(`^${[...COOKED].sort().join(',')}$`, 'm'))
}

describe('TUI terminal restore', () => {
  it('gives the terminal back and exits 0 on SIGTERM', async () => {
    const { pane, info } = await startTui()
    process.kill(info.pid, 'SIGTERM')
    await pane.waitFor(/exit=0/)
    await expectCookedTerminal(pane)
  })

  it('gives the terminal back, says why and exits 1 after a crash (uncaught exception)', async () => {
    const dir = tempDir('lk-crash-')
    const preload = join(dir, 'crash.ts')
    // Fault injection: SIGUSR2 makes the process throw from a timer, i.e. an uncaught exception.
    writeFileSync(preload, "process.on('SIGUSR2', () => setTimeout(() => { throw new Error('injected crash') }, 0))\n")
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const { pane, info } = await startTui({}, (cmd) => `${cmd.replace(/^('[^']+')/, `$1 --preload '${preload}'`)}; echo "exit=$?"`)
    process.kill(info.pid, 'SIGUSR2')
    const screen = await pane.waitFor(/exit=1/)
    expect(screen).toContain('latchkey: the terminal interface crashed: injected crash')
    expect(screen).toMatch(/ERROR fatal error, stopping error="injected crash"/)
    await expectCookedTerminal(pane)
  })

  it('gives the terminal back after SIGKILL, even to a caller that does not restore it (guardian)', async () => {
    // A non-interactive wrapper (no job control) never resets the terminal itself: what it sees
    // a moment after latchkey dies is what the guardian restored.
    const { pane, info, dataDir } = await startTui({}, (cmd, dir) => `sh -c '${cmd.replace(/'/g, '')}; sleep 1; stty -a > ${dir}/modes.txt; echo wrapper-$((1+1))'`)
    process.kill(info.pid, 'SIGKILL')
    await pane.waitFor(/^wrapper-2/m)
    const modes = modesOf(readFileSync(join(dataDir, 'modes.txt'), 'utf8'))
    for (const m of COOKED) expect(modes.has(m)).toBe(true)
    expect(pane.alternateOn()).toBe(false)
    expect(pane.format('#{cursor_flag}')).toBe('1')
  })

  it('leaves a usable shell on the normal screen after SIGKILL from an interactive shell', async () => {
    const { pane, info } = await startTui()
    process.kill(info.pid, 'SIGKILL')
    // Note: bash may print "exit=137" before the guardian leaves the alternate screen, and
    // that line then goes with the alternate screen; what must hold is the terminal after.
    await pane.waitFor(() => !pane.alternateOn())
    await expectCookedTerminal(pane)
    pane.type('echo ok-$((40+2))')
    await pane.waitFor(/^ok-42$/m)
  })
})

describe('plain log lines in a terminal', () => {
  for (const [how, env, flag] of [['--no-tui', {}, ' --no-tui'], ['LATCHKEY_NO_TUI=1', { LATCHKEY_NO_TUI: '1' }, '']] as const) {
    it(`prints log lines instead of the TUI with ${how}`, async () => {
      const dataDir = tempDir('lk-tui-')
      const pane = new Pane({ cols: 140, rows: 40, env })
      cleanup.push(() => {
        pane.close()
        rmSync(dataDir, { recursive: true, force: true })
      })
      pane.type(`${latchkeyCommand(dataDir, ['--host', '127.0.0.1'])}${flag}; echo "exit=$?"`)
      const info = await runtimeInfo(dataDir)
      await pane.waitFor(/INFO +ready dashboard=\d+ api=\d+/)
      expect(pane.alternateOn()).toBe(false)
      expect(pane.screen()).toContain(`api        http://127.0.0.1:${info.apiPort}/api`)
      process.kill(info.pid, 'SIGTERM')
      await pane.waitFor(/exit=0/)
      expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false)
    })
  }
})
