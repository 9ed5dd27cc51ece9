// Command-line parsing for the fake cloudflared, following facts sections 1.1 and 1.5: flags of
// the `tunnel` command (--no-autoupdate, --metrics, --grace-period, --loglevel, --logfile,
// --output, --url ...) are not flags of `run`, and an unknown flag prints
// "Incorrect Usage: flag provided but not defined: -<name>" plus help to stdout with exit code 0.

export type Flags = Record<string, string>;

export type Parsed =
  | { kind: "version" }
  | { kind: "usage"; text: string }
  | { kind: "tunnel"; tunnelFlags: Flags; run: null | { flags: Flags; args: string[] }; args: string[] }
  | { kind: "unsupported"; command: string };

const BOOL = new Set([
  "no-autoupdate", "no-prechecks", "hello-world", "no-tls-verify", "no-chunked-encoding",
  "post-quantum", "http2-origin", "disable-chunked-encoding", "version", "v", "help", "h",
]);
const PROXY_FLAGS = [
  "url", "hello-world", "http-host-header", "origin-server-name", "no-tls-verify", "unix-socket",
  "origin-ca-pool", "no-chunked-encoding", "http2-origin", "proxy-connect-timeout",
  "proxy-keepalive-timeout", "bastion", "socks5",
];
const GLOBAL_FLAGS = new Set(["version", "v", "help", "h", "no-autoupdate", "autoupdate-freq"]);
const TUNNEL_FLAGS = new Set([
  "no-autoupdate", "autoupdate-freq", "metrics", "grace-period", "loglevel", "transport-loglevel",
  "logfile", "log-directory", "output", "protocol", "no-prechecks", "quick-service", "config",
  "origincert", "edge-ip-version", "edge-bind-address", "ha-connections", "region", "label",
  "tag", "retries", "max-fetch-size", "management-diagnostics", "help", "h", ...PROXY_FLAGS,
]);
const RUN_FLAGS = new Set([
  "credentials-file", "credentials-contents", "token", "token-file", "protocol", "icmpv4-src",
  "icmpv6-src", "post-quantum", "edge-ip-version", "dns-resolver-addrs", "features",
  "help", "h", ...PROXY_FLAGS,
]);

const HELP: Record<string, string> = {
  tunnel: "NAME:\n   cloudflared tunnel - Use Cloudflare Tunnel to expose private services to the Internet or to Cloudflare connected private users.\n\nUSAGE:\n   cloudflared tunnel [tunnel command options] [subcommand options]\n",
  run: "NAME:\n   cloudflared tunnel run - Proxy a local web server by running the given tunnel\n\nUSAGE:\n   cloudflared tunnel [tunnel command options] run [subcommand options] [TUNNEL]\n",
  global: "NAME:\n   cloudflared - Cloudflare's command-line tool and agent\n\nUSAGE:\n   cloudflared [global options] [command] [command options]\n",
};

/** Splits one command level: flags anywhere, then positionals; stops at the first subcommand. */
function parseLevel(args: string[], known: Set<string>, stopAt: Set<string>) {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") { positional.push(...args.slice(i + 1)); break; }
    if (!a.startsWith("-") || a === "-") {
      if (positional.length === 0 && stopAt.has(a)) return { flags, positional, sub: a, rest: args.slice(i + 1) };
      positional.push(a);
      continue;
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (!known.has(name)) return { error: name };
    if (eq >= 0) flags[name] = body.slice(eq + 1);
    else if (BOOL.has(name)) flags[name] = "true";
    else if (i + 1 < args.length) flags[name] = args[++i]!;
    else return { error: name, missingValue: true };
  }
  return { flags, positional, sub: null as string | null, rest: [] as string[] };
}

const incorrect = (name: string, help: string, missing = false): Parsed => ({
  kind: "usage",
  text: `Incorrect Usage: ${missing ? `flag needs an argument: -${name}` : `flag provided but not defined: -${name}`}\n\n${help}`,
});

export function parseArgs(argv: string[]): Parsed {
  const top = parseLevel(argv, GLOBAL_FLAGS, new Set(["tunnel", "version", "update", "access", "service"]));
  if ("error" in top) return incorrect(top.error!, HELP.global!, top.missingValue);
  if (top.flags.version || top.flags.v || top.sub === "version") return { kind: "version" };
  if (top.sub !== "tunnel") return { kind: "unsupported", command: top.sub ?? top.positional[0] ?? "" };

  const tun = parseLevel(top.rest, TUNNEL_FLAGS, new Set(["run", "login", "create", "list", "delete", "route", "info", "cleanup", "token"]));
  if ("error" in tun) return incorrect(tun.error!, HELP.tunnel!, tun.missingValue);
  const tunnelFlags = { ...top.flags, ...tun.flags };
  if (tun.sub === null) return { kind: "tunnel", tunnelFlags, run: null, args: tun.positional };
  if (tun.sub !== "run") return { kind: "unsupported", command: `tunnel ${tun.sub}` };

  const run = parseLevel(tun.rest, RUN_FLAGS, new Set());
  if ("error" in run) return incorrect(run.error!, HELP.run!, run.missingValue);
  return { kind: "tunnel", tunnelFlags, run: { flags: run.flags, args: run.positional }, args: [] };
}
