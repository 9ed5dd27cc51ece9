// Persistent "serve config" of the fake tailscale, standing in for tailscaled (facts section 3.3).
// <state dir>/serve-config.json holds an ipn.ServeConfig exactly as `funnel status --json` shows it
// (tests may seed it); <state dir>/runtime.json tracks the fake's live processes:
//   sessions:  { <sessionID>: { pid } }                  foreground CLIs (section 3.1)
//   listeners: { "<host>:<port>": { pid, port, ... } }   local forwarding ports for tests
// Entries whose process is gone are pruned on every read, as tailscaled deletes a foreground
// session's config when the CLI's stream closes, even after SIGKILL (3.1).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sortedMap } from "./go-json.ts";

export interface TcpHandler { HTTPS?: boolean; HTTP?: boolean; TCPForward?: string; TerminateTLS?: string; ProxyProtocol?: number }
export interface Handler { Path?: string; Proxy?: string; Text?: string; Redirect?: string; AcceptAppCaps?: string[] }
export interface WebConfig { Handlers: Record<string, Handler> }
export interface ServeConfig {
  TCP?: Record<string, TcpHandler>;
  Web?: Record<string, WebConfig>;
  Services?: Record<string, unknown>;
  AllowFunnel?: Record<string, boolean>;
  Foreground?: Record<string, ServeConfig>;
}
export interface Listener { pid: number; port: number; funnel: boolean; https: boolean; target: string; sessionId: string | null }
export interface Runtime { sessions: Record<string, { pid: number }>; listeners: Record<string, Listener> }

export const stateDir = () =>
  process.env.FAKE_TAILSCALE_STATE_DIR || join(tmpdir(), `latchkey-fake-tailscale-${process.getuid?.() ?? 0}`);

/** ServeConfig with Go's struct field order and sorted map keys; empty fields omitted (3.3). */
export function orderServeConfig(sc: ServeConfig): ServeConfig {
  const out: ServeConfig = {};
  const tcp = sortedMap(sc.TCP, (h) => {
    const o: TcpHandler = {};
    for (const k of ["HTTPS", "HTTP", "TCPForward", "TerminateTLS", "ProxyProtocol"] as const) if (h[k]) (o as any)[k] = h[k];
    return o;
  });
  const web = sortedMap(sc.Web, (w) => ({ Handlers: sortedMap(w.Handlers, (h) => h) ?? {} }));
  const services = sortedMap(sc.Services, (s) => s);
  const funnel = sortedMap(sc.AllowFunnel, (v) => v);
  const fg = sortedMap(sc.Foreground, orderServeConfig);
  if (tcp) out.TCP = tcp;
  if (web) out.Web = web;
  if (services) out.Services = services;
  if (funnel) out.AllowFunnel = funnel;
  if (fg) out.Foreground = fg;
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

function readJson<T>(path: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return fallback;
  }
}

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  renameSync(tmp, path);
}

export interface State { config: ServeConfig; runtime: Runtime }

export function loadState(): State {
  const dir = stateDir();
  const config = readJson<ServeConfig>(join(dir, "serve-config.json"), {});
  const runtime = readJson<Runtime>(join(dir, "runtime.json"), { sessions: {}, listeners: {} });
  runtime.sessions ??= {};
  runtime.listeners ??= {};
  for (const [id, s] of Object.entries(runtime.sessions)) {
    if (!isAlive(s.pid)) {
      delete runtime.sessions[id];
      delete config.Foreground?.[id];
    }
  }
  for (const [key, l] of Object.entries(runtime.listeners)) if (!isAlive(l.pid)) delete runtime.listeners[key];
  return { config, runtime };
}

export function saveState(state: State): void {
  const dir = stateDir();
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  writeJson(join(dir, "serve-config.json"), orderServeConfig(state.config));
  writeJson(join(dir, "runtime.json"), state.runtime);
}

/** Read-modify-write helper. */
export function updateState<T>(f: (s: State) => T): T {
  const s = loadState();
  const result = f(s);
  saveState(s);
  return result;
}

export const isEmptyTopLevel = (sc: ServeConfig) =>
  !Object.keys(sc.TCP ?? {}).length && !Object.keys(sc.Web ?? {}).length &&
  !Object.keys(sc.Services ?? {}).length && !Object.keys(sc.AllowFunnel ?? {}).length;
