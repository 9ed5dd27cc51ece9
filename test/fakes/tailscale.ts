// Fake `tailscale` CLI for latchkey tests, following /work/shared/reference/tailscale-cloudflared-facts.md
// sections 3 (funnel/serve CLI), 3.5 (status --json) and 5 (headers of proxied requests). There is
// no tailscaled: the serve config lives in a JSON file and a local forwarder plays the public side.
//
// Supported:  tailscale [--socket=PATH] funnel|serve [--bg] [--https=N|--http=N] [--set-path=P] <target>
//             tailscale funnel|serve status [--json]     tailscale funnel|serve reset
//             tailscale funnel|serve --https=N off       tailscale status --json
//             tailscale version | --version
//
// Environment:
//   FAKE_TAILSCALE_MODE             normal | fail | hang | exit-late | crash-after
//   FAKE_TAILSCALE_FAIL             with MODE=fail (3.4): no-daemon (default) | no-daemon-systemd |
//                                   logged-out | stopped | not-approved | no-https | no-funnel-attr |
//                                   port-not-allowed | funnel-not-enabled (exit 0) | funnel-wait
//                                   (prints the enable text, then Success. and carries on) |
//                                   access-denied | shields-up
//   FAKE_TAILSCALE_READY_DELAY_MS   delay before a funnel/serve is set up and printed (default 500; unverified)
//   FAKE_TAILSCALE_EXIT_DELAY_MS    exit-late: SIGINT/SIGTERM ignored this long (default 5000)
//   FAKE_TAILSCALE_CRASH_AFTER_MS   crash-after: ms after readiness (default 1000)
//   FAKE_TAILSCALE_RECORD_DIR       <pid>.json invocation record + <pid>.port forwarding port
//   FAKE_TAILSCALE_STATE_DIR        serve-config.json + runtime.json (default $TMPDIR/latchkey-fake-tailscale-<uid>)
//   FAKE_TAILSCALE_DNS_NAME         node name (default host.tailnet.ts.net)
//   FAKE_TAILSCALE_SELF_IP          node IP for status --json (default 100.100.1.1)
//   FAKE_TAILSCALE_BACKEND_STATE    BackendState for status --json (default Running)
//   FAKE_TAILSCALE_AUTH_URL         "Log in at:" URL for fail=logged-out
//   FAKE_TAILSCALE_CLIENT_IP        X-Forwarded-For of proxied requests (default 100.101.102.103)
//   FAKE_TAILSCALE_USER_LOGIN / _USER_NAME / _USER_PIC   identity headers on tailnet (serve) requests
//   FAKE_TAILSCALE_TAGGED=1         the tailnet client is a tagged node: no identity headers
//   FAKE_TAILSCALE_LISTEN_PORT      fixed forwarding port (default 0 = ephemeral)
//   FAKE_TAILSCALE_BG_MAX_MS        lifetime cap of a --bg forwarder process (default 600000)
import { forever, readControl, sleep } from "./lib/control.ts";
import { goJson } from "./lib/go-json.ts";
import { recordPort, startRecord } from "./lib/record.ts";
import { isEmptyTopLevel, loadState, orderServeConfig } from "./lib/serve-state.ts";
import { buildStatus, makePeer } from "./lib/ts-nodes.ts";
import {
  conflict, dnsName, expandTarget, message, publicUrl, reset, runBackground, runBackgroundDaemon, runForeground,
  turnOff, type Kind, type Listen,
} from "./lib/ts-serve.ts";

const VERSION = "1.103.0"; // facts header: tailscale VERSION.txt
const env = process.env;
const ctl = readControl("TAILSCALE", 500);
const failKind = ctl.mode === "fail" ? (ctl.fail ?? "no-daemon") : null;

/** 3.4: an error returned by a command is one stderr line and exit 1. */
function die(text: string, code = 1): never {
  process.stderr.write(`${text}\n`);
  process.exit(code);
}

const usageHint = (kind: string) => `try \`tailscale ${kind} --help\` for usage info`;

/** 3.4: getLocalClientStatusWithoutPeers, run first by every serve/funnel command. */
function checkDaemonAndState(): void {
  if (failKind === "no-daemon" || failKind === "no-daemon-systemd") {
    die(`getting client status: failed to connect to local tailscaled; it doesn't appear to be running${failKind === "no-daemon-systemd" ? " (sudo systemctl start tailscaled ?)" : ""}`);
  }
  if (failKind === "logged-out") die(`Logged out.${env.FAKE_TAILSCALE_AUTH_URL ? `\nLog in at: ${env.FAKE_TAILSCALE_AUTH_URL}` : ""}`);
  if (failKind === "stopped") die("Tailscale is stopped.");
  if (failKind === "not-approved") die("Machine is not yet approved by tailnet admin.");
}

/** 3.4: verifyFunnelEnabled (always asked for port 443 by the foreground/bg flow). */
async function verifyFunnel(port: number): Promise<void> {
  if (failKind === "no-https") die("Funnel not available; HTTPS must be enabled. See https://tailscale.com/s/https.");
  if (failKind === "no-funnel-attr") die('Funnel not available; "funnel" node attribute not set. See https://tailscale.com/s/no-funnel.');
  if (failKind === "port-not-allowed") die(`port ${port} is not allowed for funnel`);
  if (failKind === "funnel-not-enabled" || failKind === "funnel-wait") {
    // Server-provided text (unverified as a stable string), printed to stdout.
    const text = "Funnel is not enabled on your tailnet.\nTo enable, visit:\n";
    process.stdout.write(`\n${text}\n         https://login.tailscale.com/f/funnel?node=nFAKE1CNTRL\n`);
    if (failKind === "funnel-not-enabled") process.exit(0); // exits 0 without setting anything up
    await sleep(ctl.readyDelayMs);
    process.stdout.write("Success.\n");
  }
}

/** 3.4: errors when writing the serve config. */
function checkWrite(kind: Kind): void {
  if (failKind === "access-denied") {
    die(`sending serve config: Access denied: serve config denied\n\nUse 'sudo tailscale ${process.argv.slice(2).join(" ")}'.\nTo not require root, use 'sudo tailscale set --operator=$USER' once.`);
  }
  if (failKind === "shields-up" && kind === "funnel") {
    die("sending serve config: updating config: Unable to turn on Funnel while shields-up is enabled");
  }
}

/** Go flag parsing: flags until the first non-flag argument. */
function parseFlags(args: string[], bools: string[], values: string[], kind: string) {
  const flags: Record<string, string> = {};
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") { i++; break; }
    if (!a.startsWith("-") || a === "-") break;
    const body = a.replace(/^--?/, "");
    const [name, value] = body.includes("=") ? [body.slice(0, body.indexOf("=")), body.slice(body.indexOf("=") + 1)] : [body, undefined];
    if (name === "help" || name === "h") die(`USAGE\n  tailscale ${kind} [flags] <target>`, 0); // flag.ErrHelp: exit 0
    if (bools.includes(name)) flags[name] = value ?? "true";
    else if (values.includes(name)) flags[name] = value ?? args[++i] ?? die(`flag needs an argument: -${name}\n${usageHint(kind)}`);
    else die(`flag provided but not defined: -${name}\n${usageHint(kind)}`);
  }
  return { flags, rest: args.slice(i) };
}

function printStatus(json: boolean): void {
  const { config } = loadState();
  if (json) {
    process.stdout.write(`${goJson(orderServeConfig(config), "  ")}\n`); // 3.3: "{}" when empty
    return;
  }
  // 3.3: "# Funnel on:" lists funnels of foreground sessions too; trees show only the top level.
  const funnels = new Set<string>();
  for (const sc of [config, ...Object.values(config.Foreground ?? {})]) {
    for (const [key, on] of Object.entries(sc.AllowFunnel ?? {})) {
      if (on) funnels.add(publicUrl(true, Number(key.slice(key.lastIndexOf(":") + 1)), ""));
    }
  }
  let out = funnels.size ? `# Funnel on:\n${[...funnels].map((u) => `#     - ${u}\n`).join("")}\n` : "";
  if (isEmptyTopLevel(config)) {
    out += "No serve config\n";
  } else {
    for (const [key, web] of Object.entries(config.Web ?? {})) {
      const port = Number(key.slice(key.lastIndexOf(":") + 1));
      const https = Boolean(config.TCP?.[String(port)]?.HTTPS);
      out += `${publicUrl(https, port, "")} (${config.AllowFunnel?.[key] ? "Funnel on" : "tailnet only"})\n`;
      for (const [mount, h] of Object.entries(web.Handlers)) {
        const [what, value] = h.Proxy ? ["proxy", h.Proxy] : h.Path ? ["path", h.Path] : ["text", JSON.stringify(h.Text ?? "")];
        out += `|-- ${mount} ${what} ${value}\n`;
      }
      out += "\n";
    }
  }
  process.stdout.write(out);
}

async function serveCommand(kind: Kind, args: string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, ["bg", "yes", "y", "tls-terminated-tcp"], ["https", "http", "tcp", "set-path", "accept-app-caps", "service"], kind);
  const sub = rest[0];
  if (sub === "status" || sub === "reset") {
    const subFlags = parseFlags(rest.slice(1), ["json"], [], `${kind} ${sub}`);
    if (sub === "reset" && subFlags.rest.length) die(`USAGE\n  tailscale ${kind} reset`, 0); // 3.3: usage text
    if (ctl.mode === "hang") return void (await forever());
    checkDaemonAndState();
    if (sub === "status") return printStatus(subFlags.flags.json === "true");
    checkWrite(kind);
    reset(); // 3.3: prints nothing, exit 0
    return;
  }
  if (rest.length === 0) die(`USAGE\n  tailscale ${kind} [flags] <target>`, 0);
  if (rest.length === 2 && (rest[1] === "on" || rest[1] === "off")) {
    // 3.1 step 1: the legacy form.
    process.stderr.write("Error: the CLI for serve and funnel has changed.\nPlease see https://tailscale.com/kb/1242/tailscale-serve for more information.\n");
    die(usageHint(kind));
  }
  if (rest.length > 1) die(usageHint(kind));

  const https = flags.http === undefined;
  const l: Listen = { https, port: Number(flags.https ?? flags.http ?? (https ? 443 : 80)), mount: flags["set-path"] ?? "/" };
  if (ctl.mode === "hang") return void (await forever()); // never ready, prints nothing
  checkDaemonAndState();
  if (rest[0] === "off") {
    checkWrite(kind);
    if (!turnOff(l)) die(`error: failed to remove web serve: handler does not exist\n${usageHint(kind)}`); // 3.3
    return;
  }
  if (kind === "funnel") await verifyFunnel(443); // 3.1 step 3: always port 443
  await sleep(ctl.readyDelayMs);
  checkWrite(kind);
  const clash = conflict(l, flags.bg !== "true");
  if (clash) die(clash);
  const target = expandTarget(rest[0]!);
  if (flags.bg !== "true") return void (await runForeground(kind, l, target, ctl));
  const port = await runBackground(kind, l, target);
  recordPort(port);
  process.stdout.write(message(kind, l, target, true)); // 3.2, then exit 0
}

function statusCommand(args: string[]): void {
  const { flags } = parseFlags(args, ["json", "peers", "active", "self"], ["browser", "web"], "status");
  if (failKind === "no-daemon" || failKind === "no-daemon-systemd") die("failed to connect to local tailscaled; it doesn't appear to be running");
  const state = ({ "logged-out": "NeedsLogin", stopped: "Stopped", "not-approved": "NeedsMachineAuth" } as Record<string, string>)[failKind ?? ""]
    ?? env.FAKE_TAILSCALE_BACKEND_STATE ?? "Running";
  const host = dnsName().split(".")[0]!;
  const self = makePeer(env.FAKE_TAILSCALE_SELF_IP || "100.100.1.1", { HostName: host, UserProfile: { LoginName: "owner@example.com", DisplayName: "Owner" } });
  self.node.Name = `${dnsName()}.`;
  const status = buildStatus({ version: VERSION, backendState: state, self, peers: [], includePeers: true, authURL: env.FAKE_TAILSCALE_AUTH_URL });
  if (flags.json === "true") return void process.stdout.write(goJson(status, "  ")); // 3.5: no trailing newline
  process.stdout.write(state === "Running" ? `${self.ip}  ${host}  owner@  linux  -\n` : `${state}\n`);
}

async function main(): Promise<void> {
  if (env.FAKE_TAILSCALE_INTERNAL_BG) return void (await runBackgroundDaemon(env.FAKE_TAILSCALE_INTERNAL_BG));
  startRecord(ctl.recordDir);
  // Global flags (the --socket=PATH flag is accepted and recorded; there is no real daemon).
  const { flags, rest } = parseFlags(process.argv.slice(2), ["version"], ["socket"], "");
  const [cmd, ...args] = rest;
  if (flags.version === "true" || cmd === "version") {
    process.stdout.write(`${VERSION}\n  tailscale commit: de9ec7ee\n  go version: go1.25.0\n`);
    return;
  }
  if (cmd === "funnel" || cmd === "serve") return serveCommand(cmd, args);
  if (cmd === "status") return statusCommand(args);
  die(`fake tailscale: subcommand ${JSON.stringify(cmd ?? "")} is not reproduced`);
}

await main();
process.exit(0);
