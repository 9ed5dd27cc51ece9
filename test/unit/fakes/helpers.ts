// Helpers for the fake-binary tests: spawn with output capture, wait for output, an echo origin.
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const FAKES_BIN = resolve(import.meta.dir, "../../fakes/bin");
const children: Subprocess[] = [];

export interface Running {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stdout: () => string;
  stderr: () => string;
}

function collect(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  const dec = new TextDecoder();
  const reader = stream.getReader();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  })();
  return () => text;
}

export function run(bin: "tailscale" | "cloudflared", args: string[], env: Record<string, string> = {}): Running {
  const proc = Bun.spawn([join(FAKES_BIN, bin), ...args], {
    env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  children.push(proc);
  return { proc, stdout: collect(proc.stdout), stderr: collect(proc.stderr) };
}

/** Runs to completion; returns exit code and outputs. */
export async function runToEnd(bin: "tailscale" | "cloudflared", args: string[], env: Record<string, string> = {}) {
  const r = run(bin, args, env);
  const code = await r.proc.exited;
  await Bun.sleep(10);
  return { code, signal: r.proc.signalCode, stdout: r.stdout(), stderr: r.stderr() };
}

export async function waitFor(get: () => string, pattern: RegExp, ms = 2500): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = get().match(pattern);
    if (m) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}; got:\n${get()}`);
    await Bun.sleep(15);
  }
}

const dirs: string[] = [];
export function tmp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function readPort(recordDir: string, pid: number): Promise<number> {
  const file = join(recordDir, `${pid}.port`);
  let text = "";
  await waitFor(() => { try { text = readFileSync(file, "utf8"); } catch { text = ""; } return text; }, /^\d+$/);
  return Number(text);
}

export const readRecord = (recordDir: string, pid: number) =>
  JSON.parse(readFileSync(join(recordDir, `${pid}.json`), "utf8"));

/** Kills every child still running and removes the temporary directories. */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** Origin that echoes the request as JSON; /ws echoes WebSocket messages. */
export function startEchoOrigin() {
  return Bun.serve<undefined, never>({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, server) {
      if (new URL(req.url).pathname === "/ws" && server.upgrade(req)) return undefined;
      return Response.json({
        method: req.method, path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers),
        body: await req.text(),
      });
    },
    websocket: { message(ws, m) { ws.send(`echo:${m}`); } },
  });
}
