/** Entry: parse the command line and run the command (default: start latchkey). */
import { parseArgs, helpText, type ParsedArgs } from './cli.ts'
import { runtime } from './runtime/index.ts'
import { VERSION, versionLine } from './version.ts'
import { stdinIsTerminal, stdoutIsTerminal } from './terminal-check.ts'

type Env = Record<string, string | undefined>

/**
 * Each command's module, imported when that command runs: a start loads only what starting
 * needs (the binary evaluates no doctor, service or tunnel-client code, and no TUI without a
 * terminal). `run` and `serve` start latchkey (run: the TUI in a terminal; serve: headless).
 */
const commands: Record<string, (args: ParsedArgs, env: Env) => Promise<unknown>> = {
  run: async (args, env) => {
    // The TUI needs a terminal on both ends (tui/index.ts wantsTui decides the rest).
    if (stdinIsTerminal() && stdoutIsTerminal()) {
      const { runTui, wantsTui } = await import('./tui/index.ts')
      if (wantsTui(args, env)) return runTui(args, env)
    }
    return (await import('./server/start.ts')).start(args, env)
  },
  serve: async (args, env) => (await import('./server/start.ts')).start(args, env),
  doctor: async (args, env) => (await import('./commands/doctor.ts')).doctor(args, env),
  service: async (args, env) => (await import('./commands/service.ts')).service(args, env),
  tunnel: async (args, env) => (await import('./commands/tunnel.ts')).tunnel(args, env),
  reload: async (args, env) => (await import('./commands/reload.ts')).reload(args, env),
}

function fail(err: unknown): never {
  const e = err as { message?: string; exitCode?: number }
  process.stderr.write(`latchkey: ${e?.message ?? String(err)}\n`)
  process.exit(typeof e?.exitCode === 'number' ? e.exitCode : 1)
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv)
  if (args.version) {
    process.stdout.write(versionLine(runtime.name, runtime.version) + '\n')
    return
  }
  if (args.help) {
    process.stdout.write(helpText(VERSION) + '\n')
    return
  }
  await commands[args.command](args, process.env)
}

main(process.argv.slice(2)).catch(fail)
