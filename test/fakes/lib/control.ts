// Test-control environment shared by the fake `cloudflared` and `tailscale` (not from the facts
// file: these knobs exist only so tests can steer the fakes).
//
//   FAKE_<NAME>_MODE            normal | fail | hang | exit-late | crash-after
//   FAKE_<NAME>_FAIL            which real failure `fail` reproduces (per binary, see its header)
//   FAKE_<NAME>_READY_DELAY_MS  delay before the fake becomes ready
//   FAKE_<NAME>_EXIT_DELAY_MS   exit-late: how long SIGTERM/SIGINT are ignored (default 5000)
//   FAKE_<NAME>_CRASH_AFTER_MS  crash-after: time after readiness before the crash (default 1000)
//   FAKE_<NAME>_RECORD_DIR      write <pid>.json / <pid>.port records there (see record.ts)

export type FakeMode = "normal" | "fail" | "hang" | "exit-late" | "crash-after";

export interface Control {
  mode: FakeMode;
  fail: string | undefined;
  readyDelayMs: number;
  exitDelayMs: number;
  crashAfterMs: number;
  recordDir: string | undefined;
}

const MODES: FakeMode[] = ["normal", "fail", "hang", "exit-late", "crash-after"];

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function readControl(name: "CLOUDFLARED" | "TAILSCALE", readyDefaultMs: number): Control {
  const prefix = `FAKE_${name}_`;
  const rawMode = (process.env[`${prefix}MODE`] ?? "normal") as FakeMode;
  return {
    mode: MODES.includes(rawMode) ? rawMode : "normal",
    fail: process.env[`${prefix}FAIL`] || undefined,
    readyDelayMs: envInt(`${prefix}READY_DELAY_MS`, readyDefaultMs),
    exitDelayMs: envInt(`${prefix}EXIT_DELAY_MS`, 5000),
    crashAfterMs: envInt(`${prefix}CRASH_AFTER_MS`, 1000),
    recordDir: process.env[`${prefix}RECORD_DIR`] || undefined,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Blocks forever (keeps the event loop alive). */
export function forever(): Promise<never> {
  setInterval(() => {}, 1 << 30);
  return new Promise<never>(() => {});
}
