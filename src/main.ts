/** Entry: parse the command line, load configuration, start the listeners, print the banner. */
import { parseArgs, helpText } from './cli.ts'
import { runtime } from './runtime/index.ts'
import { VERSION, versionLine } from './version.ts'
import { start } from './server/start.ts'

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
  await start(args, process.env)
}

main(process.argv.slice(2)).catch(fail)
