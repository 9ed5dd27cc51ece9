/**
 * `latchkey reload`: has the latchkey running with this data dir reload its configuration
 * (src/server/reload.ts), then prints what it applied, what needs a restart, or why it
 * refused the file (exit 2, as for any configuration error).
 *
 * How the running latchkey is found and told: the data dir's instance lock (`latchkey.pid`)
 * and `runtime.json` must name the same live process, one that started before it wrote
 * runtime.json (so a pid reused after a crash is never signalled); it gets SIGHUP and answers
 * in `reload.json`. A signal rather than a call to the API: the operating system decides who
 * may send it (the same user, or root), so it works whatever the guard requires (with
 * `admins` set the local user is not admin; with a concrete `--host` the API is not even on
 * loopback), needs no secret on this side, and reaches a latchkey whose API is busy.
 */
import type { ParsedArgs } from '../cli.ts'
import { OPTIONS } from '../cli.ts'
import { resolveDataDir } from '../config/resolve.ts'
import { isAlive, lockHolder, startedBefore } from '../config/instance-lock.ts'
import { UsageError } from '../errors.ts'
import { readRuntimeFile, runtimeFilePath } from '../server/runtime-file.ts'
import { readReloadRecord, type ReloadRecord } from '../server/reload-status.ts'
import { statSync } from 'node:fs'

type Env = Record<string, string | undefined>

const fail = (message: string, exitCode = 1): never => {
  throw Object.assign(new Error(message), { exitCode })
}

/** The pid of the latchkey serving `dataDir`, or a failure saying why there is none. */
export function runningLatchkey(dataDir: string): number {
  const info = readRuntimeFile(dataDir)
  const none = () => fail(`No latchkey is running with the data folder ${dataDir} (${runtimeFilePath(dataDir)} is missing or stale): start it first`)
  if (!info || !isAlive(info.pid) || lockHolder(dataDir) !== info.pid) return none()
  let written: number
  try {
    written = statSync(runtimeFilePath(dataDir)).mtimeMs
  } catch {
    return none()
  }
  if (!startedBefore(info.pid, written)) return none()
  return info.pid
}

function describe(r: ReloadRecord, pid: number): string {
  const lines = [`Reloaded the configuration of latchkey (pid ${pid})`, `Applied: ${r.applied.length ? r.applied.join(', ') : 'nothing changed'}`]
  if (r.needsRestart.length) lines.push(`Needs a restart (the old value stays until then): ${r.needsRestart.join(', ')}`)
  return lines.join('\n')
}

export async function reload(args: ParsedArgs, env: Env, print: (text: string) => void = (t) => process.stdout.write(t + '\n'), opts: { timeoutMs?: number } = {}): Promise<number> {
  const others = [...args.flags.keys()].filter((k) => k !== 'dataDir')
  if (args.args.length > 0 || others.length > 0) {
    const flags = others.map((k) => OPTIONS.find((o) => o.key === k)?.flag ?? k)
    throw new UsageError(`Usage: latchkey reload [--data-dir DIR]${flags.length ? ` (the running latchkey reads its own flags again; drop ${flags.join(', ')})` : ''}`)
  }
  if (process.platform === 'win32') fail('latchkey reload needs POSIX signals: on Windows, save latchkey.yaml and the running latchkey applies it')
  const dataDir = resolveDataDir(args, env)
  const pid = runningLatchkey(dataDir)
  const asked = Date.now()
  try {
    process.kill(pid, 'SIGHUP')
  } catch (err: any) {
    fail(err?.code === 'EPERM' ? `latchkey (pid ${pid}) runs as another user: run latchkey reload as that user` : `Cannot signal latchkey (pid ${pid}): ${err?.message ?? err}`)
  }
  const deadline = asked + (opts.timeoutMs ?? 15_000)
  for (;;) {
    const r = readReloadRecord(dataDir)
    // Only an answer to this signal: begun after it was sent, by that process.
    if (r && r.pid === pid && r.startedAt >= asked) {
      if (!r.ok) fail(`Reload refused, nothing changed: ${r.error}`, 2)
      print(describe(r, pid))
      return 0
    }
    if (Date.now() > deadline) fail(`latchkey (pid ${pid}) did not report a reload within ${Math.round((deadline - asked) / 1000)} s: see its log`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
