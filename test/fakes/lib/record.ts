// Invocation records for tests (FAKE_<NAME>_RECORD_DIR; not from the facts file).
// <pid>.json = { argv, rawArgv, env, pid, ppid, pgid, cwd, startedAt, exit? } where `exit`
// ({ code, signal, at }) is added when the process ends; <pid>.port holds the forwarding port.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

let dir: string | undefined;
let base: Record<string, unknown> | undefined;
let exitWritten = false;

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Process group id from /proc (Linux only); undefined elsewhere. */
function readPgid(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const afterComm = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(afterComm[2]);
  } catch {
    return undefined;
  }
}

export function startRecord(recordDir: string | undefined): void {
  if (!recordDir) return;
  dir = recordDir;
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  base = {
    argv: process.argv.slice(2),
    rawArgv: process.argv,
    env: { ...process.env },
    pid: process.pid,
    ppid: process.ppid,
    pgid: readPgid(),
    cwd: process.cwd(),
    startedAt: new Date().toISOString(),
  };
  writeAtomic(join(dir, `${process.pid}.json`), JSON.stringify(base, null, 2));
  process.on("exit", (code) => recordExit(code, null));
}

export function recordPort(port: number): void {
  if (dir) writeAtomic(join(dir, `${process.pid}.port`), String(port));
}

export function recordExit(code: number | null, signal: string | null): void {
  if (!dir || !base || exitWritten) return;
  exitWritten = true;
  const exit = { code, signal, at: new Date().toISOString() };
  writeAtomic(join(dir, `${process.pid}.json`), JSON.stringify({ ...base, exit }, null, 2));
}

/** Die from `signal` with its default action (as a Go program does for an uncaught signal). */
export function dieBySignal(signal: "SIGTERM" | "SIGINT"): never {
  recordExit(null, signal);
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // Unreachable in practice; keep the conventional code in case the signal was delayed.
  process.exit(signal === "SIGTERM" ? 143 : 130);
}
