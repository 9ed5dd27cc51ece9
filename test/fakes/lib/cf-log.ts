// cloudflared log output, facts section 1.2: everything on stderr, `<RFC3339 UTC> <LVL> <msg>`,
// fields sorted alphabetically with `error` first, values quoted like Go's strconv.Quote when they
// hold a space, quote, backslash or non-printable byte; `--output json` gives one object per line.

export type Level = "debug" | "info" | "warn" | "error" | "fatal";
const TAGS: Record<Level, string> = { debug: "DBG", info: "INF", warn: "WRN", error: "ERR", fatal: "FTL" };
const ORDER: Level[] = ["debug", "info", "warn", "error", "fatal"];

export type Fields = Record<string, string | number | boolean>;

let json = false;
let minLevel: Level = "info";

export function configureLog(opts: { json?: boolean; level?: string }): void {
  json = Boolean(opts.json);
  const lvl = (opts.level ?? "info") as Level;
  if (ORDER.includes(lvl)) minLevel = lvl;
}

/** RFC3339 in UTC without fractional seconds, e.g. 2024-01-01T12:00:00Z (section 1.2). */
export const rfc3339 = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function needsQuote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c > 0x7e || ch === " " || ch === "\\" || ch === '"') return true;
  }
  return false;
}

const fmtValue = (v: string | number | boolean) => {
  const s = String(v);
  return needsQuote(s) ? JSON.stringify(s) : s;
};

export function formatLine(level: Level, message: string, fields: Fields = {}, time = new Date()): string {
  if (json) {
    return JSON.stringify({ level, time: rfc3339(time), message, ...fields });
  }
  const keys = Object.keys(fields).sort();
  if (keys.includes("error")) keys.splice(keys.indexOf("error"), 1), keys.unshift("error");
  const parts = keys.map((k) => `${k}=${fmtValue(fields[k]!)}`);
  // An empty message still leaves its separating space, hence "ERR  error=..." (section 1.2).
  const tail = parts.length ? ` ${parts.join(" ")}` : "";
  return `${rfc3339(time)} ${TAGS[level]} ${message}${tail}`;
}

export function log(level: Level, message: string, fields?: Fields): void {
  if (ORDER.indexOf(level) < ORDER.indexOf(minLevel)) return;
  process.stderr.write(formatLine(level, message, fields) + "\n");
}

/** Bare line with no timestamp, as urfave/cli's HandleExitCoder prints a final error (1.1). */
export function bare(text: string): void {
  process.stderr.write(text + "\n");
}

/** ASCII box built like cliutil.LogTable with padding 2 (section 1.3 step 4). */
export function asciiBox(lines: string[]): string[] {
  const width = Math.max(...lines.map((l) => l.length));
  const border = `+${"-".repeat(width + 4)}+`;
  return [border, ...lines.map((l) => `|  ${l.padEnd(width)}  |`), border];
}
