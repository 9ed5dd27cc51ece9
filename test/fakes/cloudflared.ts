// Fake `cloudflared` for latchkey tests. It follows /work/shared/reference/tailscale-cloudflared-facts.md
// (sections 1, 2 and 6) and never contacts Cloudflare: the "edge" is a local forwarder on 127.0.0.1.
//
// Supported:  cloudflared --version | version
//             cloudflared tunnel [--no-autoupdate] [--metrics ADDR] [--grace-period D] --url http://127.0.0.1:PORT
//             cloudflared tunnel [--no-autoupdate] ... run [--token T | env TUNNEL_TOKEN | --token-file F] [NAME]
//
// Environment (test control; see also lib/control.ts):
//   FAKE_CLOUDFLARED_MODE              normal | fail | hang | exit-late | crash-after
//   FAKE_CLOUDFLARED_FAIL              quick: network (default) | rate-limit
//                                      named: unauthorized (default, exits 1) | unauthorized-retry (retries forever)
//   FAKE_CLOUDFLARED_READY_DELAY_MS    delay before the quick-tunnel banner / first named registration (default 3500, 1.3)
//   FAKE_CLOUDFLARED_REGISTER_DELAY_MS quick tunnel: banner -> "Registered tunnel connection" (default 1000)
//   FAKE_CLOUDFLARED_SHUTDOWN_MS       idle graceful shutdown duration (default 1000, 1.7 observed 1-2 s)
//   FAKE_CLOUDFLARED_EXIT_DELAY_MS     exit-late: signals ignored for this long (default 5000)
//   FAKE_CLOUDFLARED_CRASH_AFTER_MS    crash-after: ms after readiness (default 1000)
//   FAKE_CLOUDFLARED_RECORD_DIR        <pid>.json invocation record + <pid>.port forwarding port
//   FAKE_CLOUDFLARED_HOSTNAME          public hostname (quick default: random words.trycloudflare.com;
//                                      named default: tunnel.example.com)
//   FAKE_CLOUDFLARED_ORIGIN            named tunnel origin (dashboard ingress), e.g. http://127.0.0.1:3000
//   FAKE_CLOUDFLARED_CLIENT_IP         visitor IP put in Cf-Connecting-Ip / X-Forwarded-For (default 203.0.113.10)
//   FAKE_CLOUDFLARED_LISTEN_PORT       fixed forwarding port (default 0 = ephemeral)
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs, type Flags } from "./lib/cf-args.ts";
import { asciiBox, bare, configureLog, log } from "./lib/cf-log.ts";
import { startMetrics } from "./lib/cf-metrics.ts";
import { envInt, forever, readControl, sleep } from "./lib/control.ts";
import { startForwarder, type Forwarder } from "./lib/forwarder.ts";
import { parseGoDuration } from "./lib/go-duration.ts";
import { dieBySignal, recordPort, startRecord } from "./lib/record.ts";

const VERSION = "2026.8.2"; // facts header: cloudflared at git describe 2026.8.2-1
const env = process.env;
const ctl = readControl("CLOUDFLARED", 3500); // 1.3: banner came ~3-4 s after "Requesting..."
const registerDelayMs = envInt("FAKE_CLOUDFLARED_REGISTER_DELAY_MS", 1000);
const shutdownMs = envInt("FAKE_CLOUDFLARED_SHUTDOWN_MS", 1000);
const clientIp = env.FAKE_CLOUDFLARED_CLIENT_IP || "203.0.113.10";
const EDGE_IPS = ["198.41.200.13", "198.41.192.7", "198.41.200.33", "198.41.192.47"];
const COLOS = ["sjc08", "lax01", "sjc06", "lax07"];

// 1.3 step 1: the current disclaimer wording.
const DISCLAIMER =
  "Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out. However, be aware that these account-less Tunnels have no uptime guarantee, are subject to the Cloudflare Online Services Terms of Use (https://www.cloudflare.com/website-terms/), and Cloudflare reserves the right to investigate your use of Tunnels for violations of such terms. If you intend to use Tunnels in production you should use a pre-created named tunnel by following: https://developers.cloudflare.com/cloudflare-one/connections/connect-apps";
const WORDS = ["amber", "basin", "cedar", "delta", "ember", "fjord", "grove", "harbor", "island", "jasper",
  "kettle", "lantern", "meadow", "nectar", "orbit", "pepper", "quartz", "river", "saddle", "timber",
  "umbra", "velvet", "willow", "yonder", "zephyr", "copper", "prairie", "summit", "glacier", "canyon"];

const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const randomHostname = () => `${[0, 1, 2, 3].map(() => pick(WORDS)).join("-")}.trycloudflare.com`;
const cfRay = () => `${randomBytes(8).toString("hex")}-SJC`; // 6: e.g. 230b030023ae2822-SJC

/** 1.6: a returned error is printed bare on stderr and exits 1; a usage error exits 255. */
function fail(text: string, code = 1): never {
  bare(text);
  process.exit(code);
}

interface Tunnel {
  quickHostname: string; // "" for named tunnels (1.4)
  publicHost: string;
  origin: string | null;
  connections: number; // quick: 1, named: 4 (1.3 step 6)
  token: { value: string; fromEnv: boolean } | null;
  flags: Flags;
}

/** Signals kill at once until StartServer installs its handler (1.7). */
function installDefaultSignals(): void {
  process.on("SIGTERM", () => dieBySignal("SIGTERM"));
  process.on("SIGINT", () => dieBySignal("SIGINT"));
}

/** 1.3 step 5: the Settings map, Go map syntax with sorted keys; secrets masked. */
function settingsLine(flags: Flags): string {
  const shown = { ...flags };
  for (const k of ["token", "credentials-contents"]) if (k in shown) shown[k] = "*****";
  return `map[${Object.keys(shown).sort().map((k) => `${k}:${shown[k]}`).join(" ")}]`;
}

function logAutoupdate(flags: Flags): void {
  // 1.5: nothing is logged with --no-autoupdate and piped stdout; the shell message wins on a TTY.
  if (process.stdout.isTTY) {
    log("info", "cloudflared will not automatically update when run from the shell. To enable auto-updates, run cloudflared as a service: https://developers.cloudflare.com/cloudflare-one/connections/connect-apps/configure-tunnels/local-management/as-a-service/");
  } else if (flags["no-autoupdate"] !== "true" && !env.NO_AUTOUPDATE) {
    log("info", "Autoupdate frequency is set", { autoupdateFreq: 86400000 });
  }
}

function gracePeriodMs(flags: Flags): number {
  const raw = flags["grace-period"] ?? env.TUNNEL_GRACE_PERIOD ?? "30s"; // 1.7 default 30s
  const ms = parseGoDuration(raw);
  if (ms === null) fail(`invalid value "${raw}" for flag -grace-period: parse error`);
  if (ms > 180_000) fail("grace-period must be equal or less than 3m0s"); // 1.7
  return ms;
}

function forwardHeaders(t: Tunnel, connectorId: string) {
  return ({ headers, isWebSocket }: { headers: Headers; isWebSocket: boolean }) => {
    for (const name of [...headers.keys()]) if (name.startsWith("cf-cloudflared-")) headers.delete(name);
    const xff = headers.get("x-forwarded-for"); // 6: the edge appends to an existing XFF
    headers.set("x-forwarded-for", xff ? `${xff}, ${clientIp}` : clientIp);
    headers.set("cf-connecting-ip", clientIp);
    headers.set("x-forwarded-proto", "https");
    headers.set("cf-ray", cfRay());
    headers.set("cf-visitor", '{"scheme":"https"}');
    headers.set("cdn-loop", "cloudflare");
    headers.set("accept-encoding", "br, gzip");
    headers.set("cf-warp-tag-id", connectorId);
    headers.set("host", t.publicHost); // 6: Host stays the public hostname
    if (!isWebSocket) headers.set("connection", "keep-alive");
    if (!headers.has("user-agent")) headers.set("user-agent", "");
  };
}

function originError(error: unknown, origin: string): Response {
  const url = new URL(origin);
  const hostPort = `${url.hostname}:${url.port || (url.protocol === "https:" ? 443 : 80)}`;
  const ray = cfRay();
  // 1.6: the process keeps running and logs an ERR event with an empty message.
  log("error", "", {
    error: `Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp ${hostPort}: connect: connection refused`,
    cfRay: ray, connIndex: 0, event: 1, ingressRule: 0, originService: origin,
  });
  void error;
  return new Response("Bad gateway\n", { status: 502, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/** 1.3 step 5 onwards: StartServer, connections, graceful shutdown. */
async function startServer(t: Tunnel): Promise<never> {
  if (!t.token && !t.flags.config) {
    log("info", "Cannot determine default configuration path. No file [config.yml config.yaml] in [~/.cloudflared ~/.cloudflare-warp ~/cloudflare-warp /etc/cloudflared /usr/local/etc/cloudflared]");
  }
  log("info", `Version ${VERSION} (Checksum ${"0".repeat(8)}fake${"0".repeat(52)})`);
  log("info", `GOOS: ${process.platform}, GOVersion: go1.25.0, GoArch: ${process.arch === "x64" ? "amd64" : process.arch}`);
  log("info", `Settings: ${settingsLine(t.flags)}`);
  if (t.token?.fromEnv) log("info", "Environmental variables map[TUNNEL_TOKEN:*****]");
  const graceMs = gracePeriodMs(t.flags);
  logAutoupdate(t.flags);
  const connectorId = randomUUID();
  log("info", `Generated Connector ID: ${connectorId}`);
  log("info", `Initial protocol ${t.flags.protocol ?? "quic"}`);

  let ready = 0;
  const metrics = startMetrics(t.flags.metrics ?? env.TUNNEL_METRICS, {
    quickHostname: t.quickHostname, connectorId, readyConnections: () => ready,
  });
  log("info", `Starting metrics server on ${metrics.addr}/metrics`);
  if (t.flags["no-prechecks"] !== "true" && !env.TUNNEL_NO_PRECHECKS) {
    for (const line of asciiBox(["CONNECTIVITY PRE-CHECKS"])) log("info", line); // 1.3 step 5 (2026.5.0+)
  }

  let forwarder: Forwarder | null = null;
  let shuttingDown = false;
  const onSignal = (name: "terminated" | "interrupt") => async () => {
    if (shuttingDown) return;
    shuttingDown = true;
    if (ctl.mode === "exit-late") await sleep(ctl.exitDelayMs);
    log("info", `Initiating graceful shutdown due to signal ${name} ...`); // 1.7
    process.removeAllListeners("SIGTERM").removeAllListeners("SIGINT");
    installDefaultSignals(); // a second signal gets the default action
    forwarder?.stop(false);
    for (let i = 0; i < ready; i++) log("info", "Unregistered tunnel connection", { connIndex: i, event: 0, ip: EDGE_IPS[i % 4]! });
    const start = Date.now();
    while (Date.now() - start < graceMs && (Date.now() - start < shutdownMs || (forwarder?.inFlight() ?? 0) > 0)) await sleep(20);
    log("info", "Tunnel server stopped");
    metrics.server.stop(true);
    log("info", "Metrics server stopped");
    process.exit(0); // 1.7: graceful shutdown after a signal exits 0
  };
  process.removeAllListeners("SIGTERM").removeAllListeners("SIGINT");
  process.on("SIGTERM", onSignal("terminated"));
  process.on("SIGINT", onSignal("interrupt"));

  await sleep(t.quickHostname ? registerDelayMs : ctl.readyDelayMs);
  if (shuttingDown) return forever();
  if (ctl.mode === "fail") return failNamed();

  forwarder = startForwarder({
    origin: () => t.origin,
    rewrite: forwardHeaders(t, connectorId),
    onOriginError: originError,
    port: envInt("FAKE_CLOUDFLARED_LISTEN_PORT", 0),
  });
  recordPort(forwarder.port);
  for (let i = 0; i < t.connections; i++) {
    ready++;
    log("info", "Registered tunnel connection", {
      connIndex: i, connection: randomUUID(), event: 0, ip: EDGE_IPS[i % 4]!, location: COLOS[i % 4]!,
      protocol: t.flags.protocol ?? "quic",
    });
  }
  if (!t.quickHostname) {
    const config = { ingress: [{ hostname: t.publicHost, service: t.origin ?? "http_status:503" }, { service: "http_status:404" }], "warp-routing": { enabled: false } };
    log("info", "Updated to new configuration", { config: JSON.stringify(config), version: 1 }); // 2
  }
  if (ctl.mode === "crash-after") {
    setTimeout(() => {
      const error = "fake cloudflared crash (FAKE_CLOUDFLARED_MODE=crash-after)";
      log("error", "Initiating shutdown", { error });
      fail(error);
    }, ctl.crashAfterMs);
  }
  return forever();
}

/** 2: a well-formed but rejected token. Retries forever, or gives up with exit 1. */
async function failNamed(): Promise<never> {
  const error = "Unauthorized: Invalid tunnel secret";
  const fields = { error, connIndex: 0, event: 0, ip: EDGE_IPS[0]! };
  log("error", "Register tunnel error from server side", fields);
  if (ctl.fail === "unauthorized-retry") {
    for (;;) {
      log("info", "Retrying connection in up to 1s", { connIndex: 0, event: 0, ip: EDGE_IPS[0]! });
      await sleep(1000);
      log("error", "Register tunnel error from server side", fields);
    }
  }
  log("error", "initial tunnel connection failed", fields);
  log("error", "Initiating shutdown", { error });
  fail(error);
}

async function quickTunnel(flags: Flags): Promise<never> {
  const url = flags.url ?? env.TUNNEL_URL!;
  log("info", DISCLAIMER);
  log("info", "Requesting new quick Tunnel on trycloudflare.com...");
  if (ctl.mode === "hang") return forever(); // still inside the API request; signals kill at once
  await sleep(ctl.readyDelayMs);
  if (ctl.mode === "fail") {
    const service = flags["quick-service"] ?? "https://api.trycloudflare.com";
    if (ctl.fail === "rate-limit") {
      const msg = "invalid character 'e' looking for beginning of value";
      log("error", "Error unmarshaling QuickTunnel response: error code: 1015", { error: msg, status_code: "429 Too Many Requests" });
      fail(`failed to unmarshal quick Tunnel: ${msg}`);
    }
    const host = new URL(service).hostname;
    fail(`failed to request quick Tunnel: Post "${service}/tunnel": dial tcp: lookup ${host}: no such host`);
  }
  const hostname = env.FAKE_CLOUDFLARED_HOSTNAME || randomHostname();
  const title = "Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):";
  for (const line of asciiBox([title, `https://${hostname}`])) log("info", line); // 1.3 step 4
  const protocol = flags.protocol ?? "quic"; // 1.3 step 6: quick tunnels force quic and 1 connection
  return startServer({ quickHostname: hostname, publicHost: hostname, origin: url, connections: 1,
    token: null, flags: { ...flags, protocol } });
}

function readToken(runFlags: Flags): Tunnel["token"] {
  if (runFlags.token) return { value: runFlags.token, fromEnv: false };
  if (env.TUNNEL_TOKEN) return { value: env.TUNNEL_TOKEN, fromEnv: true };
  const file = runFlags["token-file"] ?? env.TUNNEL_TOKEN_FILE;
  if (file && existsSync(file)) return { value: readFileSync(file, "utf8").trim(), fromEnv: false };
  return null;
}

/** 2: token = standard base64 of {"a","t","s"[,"e"]}; returns the tunnel UUID or null. */
function tunnelIdFromToken(token: string): string | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || token.length % 4 !== 0) return null;
  try {
    const data = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
    return typeof data?.a === "string" && typeof data?.t === "string" && typeof data?.s === "string" ? data.t : null;
  } catch {
    return null;
  }
}

async function namedTunnel(tunnelFlags: Flags, run: { flags: Flags; args: string[] }): Promise<never> {
  const usage = "See 'cloudflared tunnel run --help'.";
  if (run.args.length > 1) {
    fail(`"cloudflared tunnel run" accepts only one argument, the ID or name of the tunnel to run.\n${usage}`, 255);
  }
  const token = readToken(run.flags);
  if (!token) fail("fake cloudflared: a named tunnel without a token (credentials file) is not reproduced");
  const tunnelId = tunnelIdFromToken(token.value);
  if (!tunnelId) fail(`Provided Tunnel token is not valid.\n${usage}`, 255); // 2: exit 255
  log("info", "Starting tunnel", { tunnelID: tunnelId });
  if (ctl.mode === "hang") return forever();
  const flags = { ...tunnelFlags, ...run.flags };
  delete flags.token;
  return startServer({
    quickHostname: "", publicHost: env.FAKE_CLOUDFLARED_HOSTNAME || "tunnel.example.com",
    origin: run.flags.url ?? env.FAKE_CLOUDFLARED_ORIGIN ?? null,
    connections: Number(flags["ha-connections"] ?? 4), token, flags,
  });
}

async function main(): Promise<void> {
  startRecord(ctl.recordDir);
  installDefaultSignals();
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.kind === "version") {
    process.stdout.write(`cloudflared version ${VERSION} (built 2026-08-20-0000 UTC)\n`);
    process.exit(0);
  }
  if (parsed.kind === "usage") {
    process.stdout.write(parsed.text); // 1.1: stdout, exit code 0
    process.exit(0);
  }
  if (parsed.kind === "unsupported") fail(`fake cloudflared: command "${parsed.command}" is not reproduced`);
  const f = parsed.tunnelFlags;
  configureLog({
    json: (f.output ?? env.TUNNEL_LOG_OUTPUT ?? env.TUNNEL_MANAGEMENT_OUTPUT) === "json",
    level: f.loglevel ?? env.TUNNEL_LOGLEVEL,
  });
  if (parsed.run) return void (await namedTunnel(f, parsed.run));
  if (f.url || env.TUNNEL_URL) return void (await quickTunnel(f));
  // 1.6: only the first line of the real multi-line message is recorded in the facts file.
  fail("You did not specify any valid additional argument to the cloudflared tunnel command.");
}

await main();
