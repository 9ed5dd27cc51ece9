/**
 * `latchkey` (the `run` command) in a terminal: the TUI when stdin and stdout are TTYs and
 * neither --no-tui nor LATCHKEY_NO_TUI is given; plain log lines otherwise (a pipe, systemd, CI).
 */
import type { ParsedArgs } from '../cli.ts'
import { resolveConfig } from '../config/resolve.ts'
import { start, type Running } from '../server/start.ts'
import { VERSION } from '../version.ts'
import { Terminal, writeNow } from './terminal.ts'
import { Tui } from './tui.ts'
import { terminalHungUp } from '../server/hangup.ts'

type Env = Record<string, string | undefined>

/** Whether `latchkey run` should show the TUI. */
export function wantsTui(args: ParsedArgs, env: Env): boolean {
  if (args.command !== 'run' || !process.stdin.isTTY || !process.stdout.isTTY) return false
  if (env.TERM === 'dumb') return false
  return !resolveConfig(args, env).noTui
}

/** Start latchkey with the TUI; returns once it runs (Q, a signal or a crash end it). */
export async function runTui(args: ParsedArgs, env: Env): Promise<Running> {
  const term = new Terminal()
  const tui = new Tui(term, VERSION, () => process.exit(0))
  let subscribed = false
  // Until the TUI is up, log lines are kept for its event list; once it is gone (quit, signal,
  // crash) they go to stdout as plain lines again, so the shutdown is visible.
  const logWrite = (line: string) => {
    if (term.active) return
    if (!subscribed) tui.addEvent(line)
    else writeNow(1, line + '\n')
  }
  const running = await start(args, env, { print: (text) => tui.setBanner(text), logWrite })
  running.services.log.onLine((_level, line) => {
    if (term.active) tui.addEvent(line)
  })
  subscribed = true
  // Give the terminal back first, before the shutdown start() begins on the same event.
  const first = (event: string, listener: (...a: any[]) => void) =>
    typeof process.prependListener === 'function' ? process.prependListener(event as any, listener) : process.on(event as any, listener)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) first(sig, () => term.restore())
  // The terminal is gone: nothing to draw on; stop like SIGTERM does. Any other SIGHUP
  // (kill -HUP, latchkey reload) reloads the config and the TUI stays (src/server/start.ts).
  first('SIGHUP', () => {
    if (!terminalHungUp()) return
    term.restore()
    void running.stop().then(() => process.exit(0))
  })
  for (const ev of ['uncaughtException', 'unhandledRejection'] as const) {
    first(ev, (err: unknown) => {
      const wasActive = term.active
      term.restore()
      if (wasActive) writeNow(2, `latchkey: the terminal interface crashed: ${String((err as Error)?.message ?? err)}\n`)
    })
  }
  tui.attach(running)
  return running
}
