/** Entry: parse the command line and run the command (default: start latchkey). */
import { parseArgs, helpText, type ParsedArgs } from './cli.ts'
import { runtime } from './runtime/index.ts'
import { VERSION, versionLine } from './version.ts'
import { start } from './server/start.ts'
import { runTui, wantsTui } from './tui/index.ts'
import { doctor } from './commands/doctor.ts'
import { service } from './commands/service.ts'
import { tunnel } from './commands/tunnel.ts'
import { reload } from './commands/reload.ts'

type Env = Record<string, string | undefined>

/** Each command's module; `run` and `serve` start latchkey (run: the TUI in a terminal; serve: headless). */
const commands: Record<string, (args: ParsedArgs, env: Env) => Promise<unknown>> = {
  run: (args, env) => (wantsTui(args, env) ? runTui(args, env) : start(args, env)),
  serve: (args, env) => start(args, env),
  doctor: (args, env) => doctor(args, env),
  service: (args, env) => service(args, env),
  tunnel: (args, env) => tunnel(args, env),
  reload: (args, env) => reload(args, env),
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
