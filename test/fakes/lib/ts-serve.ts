// `tailscale funnel|serve <target>` of the fake tailscale: foreground sessions (facts 3.1),
// --bg (3.2), `--https=N off` and `reset` (3.3), plus the background forwarder that stands in for
// tailscaled serving a --bg config.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { forever, sleep, type Control } from "./control.ts";
import { startForwarder, type Forwarder } from "./forwarder.ts";
import { dieBySignal, recordPort } from "./record.ts";
import { loadState, stateDir, updateState, type ServeConfig } from "./serve-state.ts";
import { serveRewrite } from "./ts-headers.ts";

export type Kind = "funnel" | "serve";
export interface Listen { https: boolean; port: number; mount: string }

export const dnsName = () => process.env.FAKE_TAILSCALE_DNS_NAME || "host.tailnet.ts.net";
export const webKey = (l: { port: number }) => `${dnsName()}:${l.port}`;

/** Public URL; ":port" is left out for https on 443 and http on 80 (3.1). */
export function publicUrl(https: boolean, port: number, mount = "/"): string {
  const omit = (https && port === 443) || (!https && port === 80);
  return `${https ? "https" : "http"}://${dnsName()}${omit ? "" : `:${port}`}${mount}`;
}

/** A bare port always means http://127.0.0.1:<port> (3.1). */
export function expandTarget(target: string): string {
  if (/^\d+$/.test(target)) return `http://127.0.0.1:${target}`;
  if (/^[a-z+]+:\/\//.test(target)) return target;
  return `http://${target}`;
}

/** Where this fake may really send traffic: loopback only. */
function localOrigin(target: string): string | null {
  const url = new URL(target.replace(/^https\+insecure:/, "https:"));
  if (url.hostname === "localhost") url.hostname = "127.0.0.1";
  return url.hostname === "127.0.0.1" ? url.origin : null;
}

/** messageForPort (3.1, 3.2): the block printed to stdout. */
export function message(kind: Kind, l: Listen, target: string, bg: boolean): string {
  const where = kind === "funnel" ? "Available on the internet:" : "Available within your tailnet:";
  const handler = `|-- ${"proxy".padEnd(5)} ${target}`; // "%s %-5s %s"
  const tail = bg
    ? `${kind === "funnel" ? "Funnel" : "Serve"} started and running in the background.\nTo disable the proxy, run: tailscale ${kind} --${l.https ? "https" : "http"}=${l.port} off\n`
    : "Press Ctrl+C to exit.\n";
  return `${where}\n\n${publicUrl(l.https, l.port, l.mount)}\n${handler}\n\n${tail}`;
}

function entryConfig(kind: Kind, l: Listen, target: string): ServeConfig {
  const key = webKey(l);
  const sc: ServeConfig = {
    TCP: { [String(l.port)]: l.https ? { HTTPS: true } : { HTTP: true } },
    Web: { [key]: { Handlers: { [l.mount]: { Proxy: target } } } },
  };
  if (kind === "funnel") sc.AllowFunnel = { [key]: true };
  return sc;
}

function forwarderFor(kind: Kind, l: Listen, target: string): Forwarder {
  const host = publicUrl(l.https, l.port).replace(/^https?:\/\//, "").replace(/\/$/, "");
  return startForwarder({
    origin: () => localOrigin(target),
    rewrite: serveRewrite({ publicHost: host, https: l.https, funnel: kind === "funnel" }),
    port: Number(process.env.FAKE_TAILSCALE_LISTEN_PORT || 0),
  }); // a dead backend gives 502 with an empty body (section 5)
}

/** 3.4: "port already used by another session". Returns the error text or null. */
export function conflict(l: Listen, foreground: boolean): string | null {
  const { config } = loadState();
  const port = String(l.port);
  const prefix = "sending serve config: updating config: ";
  if (Object.values(config.Foreground ?? {}).some((fg) => fg.TCP?.[port])) return `${prefix}foreground listener already exists for port ${port}`;
  if (foreground && config.TCP?.[port]) return `${prefix}listener already exists for port ${port}`;
  return null;
}

export async function runForeground(kind: Kind, l: Listen, target: string, ctl: Control): Promise<never> {
  const sessionId = randomBytes(8).toString("hex");
  const key = webKey(l);
  const forwarder = forwarderFor(kind, l, target);
  updateState((s) => {
    (s.config.Foreground ??= {})[sessionId] = entryConfig(kind, l, target); // 3.1 step 5
    s.runtime.sessions[sessionId] = { pid: process.pid };
    s.runtime.listeners[key] = { pid: process.pid, port: forwarder.port, funnel: kind === "funnel", https: l.https, target, sessionId };
  });
  recordPort(forwarder.port);
  process.stdout.write(message(kind, l, target, false));

  // tailscaled deletes the session's foreground config when the CLI goes away (3.1).
  const cleanup = () => updateState((s) => {
    delete s.config.Foreground?.[sessionId];
    delete s.runtime.sessions[sessionId];
    if (s.runtime.listeners[key]?.sessionId === sessionId) delete s.runtime.listeners[key];
  });
  let stopping = false;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => async () => {
    if (stopping) return;
    stopping = true;
    if (ctl.mode === "exit-late") await sleep(ctl.exitDelayMs);
    cleanup();
    if (signal === "SIGINT") process.exit(0); // 3.1: Ctrl+C -> exit 0, no output
    dieBySignal("SIGTERM"); // 3.1: SIGTERM is not caught by the real CLI
  };
  process.removeAllListeners("SIGINT").removeAllListeners("SIGTERM");
  process.on("SIGINT", onSignal("SIGINT"));
  process.on("SIGTERM", onSignal("SIGTERM"));

  // After `reset` the session's config is gone: stop forwarding but keep running, like the CLI.
  const poll = setInterval(() => {
    if (!loadState().config.Foreground?.[sessionId]) { forwarder.stop(); clearInterval(poll); }
  }, 250);
  if (ctl.mode === "crash-after") {
    setTimeout(() => {
      cleanup();
      process.stderr.write("fake tailscale crash (FAKE_TAILSCALE_MODE=crash-after)\n");
      process.exit(1);
    }, ctl.crashAfterMs);
  }
  return forever();
}

export async function runBackground(kind: Kind, l: Listen, target: string): Promise<number> {
  const key = webKey(l);
  const existing = updateState((s) => {
    const e = entryConfig(kind, l, target);
    s.config.TCP = { ...s.config.TCP, ...e.TCP };
    s.config.Web = { ...s.config.Web, [key]: { Handlers: { ...s.config.Web?.[key]?.Handlers, ...e.Web![key]!.Handlers } } };
    if (kind === "funnel") s.config.AllowFunnel = { ...s.config.AllowFunnel, [key]: true };
    else delete s.config.AllowFunnel?.[key];
    const cur = s.runtime.listeners[key];
    return cur && cur.sessionId === null && cur.target === target && cur.funnel === (kind === "funnel") ? cur : null;
  });
  if (existing) return existing.port;
  const env: Record<string, string | undefined> = { ...process.env, FAKE_TAILSCALE_INTERNAL_BG: key, FAKE_TAILSCALE_STATE_DIR: stateDir() };
  delete env.FAKE_TAILSCALE_RECORD_DIR;
  delete env.FAKE_TAILSCALE_MODE;
  const child = spawn(process.execPath, [process.argv[1]!], { env, detached: true, stdio: "ignore" });
  child.unref();
  for (let i = 0; i < 150; i++) {
    const cur = loadState().runtime.listeners[key];
    if (cur && cur.pid === child.pid) return cur.port;
    await sleep(20);
  }
  throw new Error("fake tailscale: background forwarder did not start");
}

/** The detached process that serves a --bg config until it is removed or changed. */
export async function runBackgroundDaemon(key: string): Promise<never> {
  const { config } = loadState();
  const port = Number(key.slice(key.lastIndexOf(":") + 1));
  const [mount, handler] = Object.entries(config.Web?.[key]?.Handlers ?? {})[0] ?? [];
  if (!mount || !handler?.Proxy) process.exit(0);
  const l: Listen = { https: Boolean(config.TCP?.[String(port)]?.HTTPS), port, mount };
  const funnel = Boolean(config.AllowFunnel?.[key]);
  const forwarder = forwarderFor(funnel ? "funnel" : "serve", l, handler.Proxy);
  updateState((s) => {
    s.runtime.listeners[key] = { pid: process.pid, port: forwarder.port, funnel, https: l.https, target: handler.Proxy!, sessionId: null };
  });
  const maxMs = Number(process.env.FAKE_TAILSCALE_BG_MAX_MS || 600_000);
  const started = Date.now();
  setInterval(() => {
    const s = loadState();
    const h = s.config.Web?.[key]?.Handlers?.[mount];
    const gone = !existsSync(stateDir()) || h?.Proxy !== handler.Proxy || Boolean(s.config.AllowFunnel?.[key]) !== funnel ||
      s.runtime.listeners[key]?.pid !== process.pid || Date.now() - started > maxMs;
    if (gone) { forwarder.stop(); process.exit(0); }
  }, 200);
  return forever();
}

/** `tailscale funnel|serve --https=N off` (3.3): removes the top-level handler only. */
export function turnOff(l: Listen): boolean {
  const key = webKey(l);
  return updateState((s) => {
    const handlers = s.config.Web?.[key]?.Handlers;
    if (!handlers?.[l.mount]) return false;
    delete handlers[l.mount];
    if (Object.keys(handlers).length === 0) {
      delete s.config.Web![key];
      delete s.config.TCP?.[String(l.port)];
      delete s.config.AllowFunnel?.[key];
    }
    return true;
  });
}

/** `tailscale funnel reset` / `serve reset` (3.3): POST an empty ServeConfig. */
export function reset(): void {
  updateState((s) => {
    s.config = {};
    s.runtime.listeners = {};
  });
}
