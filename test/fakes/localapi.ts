// Fake Tailscale LocalAPI on a unix socket, following facts section 4 (4.1 transport checks,
// 4.2 whois, 4.3 tagged nodes) and 3.5 (/localapi/v0/status).
//
// Library:  const api = await startFakeLocalApi({ socketPath?, peers?, self?, slowMs? });
//           api.setPeer("100.64.0.2", { UserProfile: { LoginName: "bob@example.com", DisplayName: "Bob" } });
//           api.setPeer("100.64.0.3", { Tags: ["tag:server"] });   // tagged node (4.3)
//           api.setMode("slow" | "down" | "deny-whois" | "normal"); api.requests; await api.stop();
//           api.mapConnection("127.0.0.1:54321", "100.64.0.2");  // a proxied connection (4.2)
//           api.unmapConnection("127.0.0.1:54321"); api.connections  // live mappings
//           Mappings are netstack's ProxyMapper (4.2): in userspace networking tailscaled
//           re-dials each tailnet connection from 127.0.0.1 and WhoIs of that exact ip:port
//           answers for the tailnet peer. Only `ip:port` matches one; a bare IP never does.
//           The peer is looked up when WhoIs asks, so a mapping to an unknown IP answers 404.
//           test/fakes/userspace-forwarder.ts registers them for each connection it proxies.
// CLI:      bun test/fakes/localapi.ts --socket PATH [--peers peers.json] [--slow-ms N]
//           peers.json = { "<ip>": PeerSpec, ... }; runs until SIGTERM/SIGINT.
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { goJson } from "./lib/go-json.ts";
import { buildStatus, makePeer, type Peer, type PeerSpec } from "./lib/ts-nodes.ts";

export type LocalApiMode = "normal" | "slow" | "down" | "deny-whois";

export interface FakeLocalApiOptions {
  socketPath?: string;
  peers?: Record<string, PeerSpec>;
  /** The node itself; WhoIs on its IP resolves to it (4.2). */
  self?: { ip?: string; spec?: PeerSpec };
  slowMs?: number; // mode "slow": response delay (default 5000)
  backendState?: string; // for /status (default "Running")
  version?: string; // Tailscale-Version header and Status.Version
  capVersion?: number; // Tailscale-Cap header
}

export interface RecordedRequest { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; at: number }

export interface FakeLocalApi {
  socketPath: string;
  requests: RecordedRequest[];
  setPeer(ip: string, spec: PeerSpec | null): void;
  /**
   * WhoIs of `addr` (exactly `ip:port` or `[v6]:port`, the local end of a connection
   * tailscaled proxied) answers for the tailnet peer `peerIp` (an IP, or `ip:port` whose port
   * is ignored), like netstack's ProxyMapper (4.2). Throws on a bare IP or a malformed address.
   */
  mapConnection(addr: string, peerIp: string): void;
  /** Forgets a mapping (the proxied connection closed); unknown addresses are ignored. */
  unmapConnection(addr: string): void;
  /** Live mappings, `ip:port` → peer IP, keys in canonical form. */
  readonly connections: ReadonlyMap<string, string>;
  setMode(mode: LocalApiMode): void;
  stop(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";

/** `ip:port` / `[v6]:port` split; null when `addr` has no valid port. */
function splitAddrPort(addr: string): { ip: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  if (!m || !isIP(m[1]!) || Number(m[2]) > 65535) return null;
  return { ip: m[1]!, port: Number(m[2]) };
}

/** The one spelling of a connection address: `1.2.3.4:5`, `[::1]:5` (IPv4-mapped IPv6 unwrapped). */
function connectionKey(ip: string, port: number): string {
  const bare = ip.replace(/^::ffff:(?=\d+\.)/i, "");
  return bare.includes(":") ? `[${bare}]:${port}` : `${bare}:${port}`;
}

export async function startFakeLocalApi(opts: FakeLocalApiOptions = {}): Promise<FakeLocalApi> {
  let tmpDir: string | undefined;
  const socketPath = opts.socketPath ?? join((tmpDir = mkdtempSync(join(tmpdir(), "fake-localapi-"))), "tailscaled.sock");
  const version = opts.version ?? "1.103.0";
  const capVersion = String(opts.capVersion ?? 130);
  const selfIp = opts.self?.ip ?? "100.100.1.1";
  const self = makePeer(selfIp, { HostName: "host", UserProfile: { LoginName: "owner@example.com", DisplayName: "Owner" }, ...opts.self?.spec });
  const peers = new Map<string, Peer>();
  const connections = new Map<string, string>(); // ProxyMapper: "127.0.0.1:port" -> peer IP
  for (const [ip, spec] of Object.entries(opts.peers ?? {})) peers.set(ip, makePeer(ip, spec));
  const requests: RecordedRequest[] = [];
  let mode: LocalApiMode = "normal";
  let server: Server<unknown> | null = null;

  // 4.1: every response carries Tailscale-Version and Tailscale-Cap.
  const baseHeaders = () => ({ "Tailscale-Version": version, "Tailscale-Cap": capVersion });
  // Go's http.Error: text/plain, nosniff, body with a trailing newline (4.2).
  const httpError = (status: number, text: string) =>
    new Response(`${text}\n`, { status, headers: { ...baseHeaders(), "Content-Type": TEXT, "X-Content-Type-Options": "nosniff" } });
  const json = (value: unknown) =>
    new Response(`${goJson(value, "\t")}\n`, { headers: { ...baseHeaders(), "Content-Type": "application/json" } });

  function findPeer(addr: string): Peer | "invalid" | undefined {
    if (addr.startsWith("nodekey:")) {
      if (!/^nodekey:[0-9a-f]{64}$/.test(addr)) return "invalid";
      return [self, ...peers.values()].find((p) => p.node.Key === addr);
    }
    let ip = addr;
    if (!isIP(addr)) {
      const parsed = splitAddrPort(addr);
      if (!parsed) return "invalid";
      // 4.2: a connection tailscaled proxied to 127.0.0.1 is resolved by its exact ip:port.
      ip = connections.get(connectionKey(parsed.ip, parsed.port)) ?? parsed.ip;
    }
    return ip === selfIp ? self : peers.get(ip);
  }

  function whois(url: URL): Response {
    if (mode === "deny-whois") return httpError(403, "whois access denied");
    const addr = url.searchParams.get("addr");
    if (!addr) return httpError(400, "missing 'addr' parameter");
    const peer = findPeer(addr);
    if (peer === "invalid") return httpError(400, addr.startsWith("nodekey:") ? "invalid nodekey in 'addr' parameter" : "invalid 'addr' parameter");
    if (!peer) return httpError(404, "no match for IP:port"); // 4.2
    return json({ Node: peer.node, UserProfile: peer.profile, CapMap: peer.spec.CapMap ?? null });
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    requests.push({
      method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(req.headers), at: Date.now(),
    });
    if (mode === "slow") await Bun.sleep(opts.slowMs ?? 5000);
    // 4.1: Host must be local-tailscaled.sock or empty; any Referer/Origin is refused.
    const host = req.headers.get("host") ?? "";
    if ((host !== "" && host !== "local-tailscaled.sock") || req.headers.has("referer") || req.headers.has("origin")) {
      return httpError(403, "invalid localapi request");
    }
    if (url.pathname === "/localapi/v0/whois") return whois(url);
    if (url.pathname === "/localapi/v0/status") {
      return json(buildStatus({
        version, backendState: opts.backendState ?? "Running", self, peers: [...peers.values()],
        includePeers: url.searchParams.get("peers") !== "false",
      }));
    }
    return httpError(404, "404 page not found");
  }

  const listen = () => {
    if (existsSync(socketPath)) unlinkSync(socketPath);
    server = Bun.serve({ unix: socketPath, fetch: handle });
  };
  const close = () => {
    server?.stop(true);
    server = null;
    if (existsSync(socketPath)) unlinkSync(socketPath);
  };
  listen();

  return {
    socketPath,
    requests,
    setPeer(ip, spec) {
      if (spec === null) peers.delete(ip);
      else peers.set(ip, makePeer(ip, spec));
    },
    mapConnection(addr, peerIp) {
      const from = splitAddrPort(addr);
      if (!from) throw new TypeError(`Cannot map connection: "${addr}" is not ip:port`);
      const to = isIP(peerIp) ? peerIp : splitAddrPort(peerIp)?.ip;
      if (!to) throw new TypeError(`Cannot map connection: "${peerIp}" is not an IP`);
      connections.set(connectionKey(from.ip, from.port), to);
    },
    unmapConnection(addr) {
      const from = splitAddrPort(addr);
      if (from) connections.delete(connectionKey(from.ip, from.port));
    },
    connections,
    setMode(next) {
      mode = next;
      if (next === "down") close(); // socket closed and removed: connections are refused
      else if (!server) listen();
    },
    async stop() {
      close();
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const peersFile = arg("--peers");
  const api = await startFakeLocalApi({
    socketPath: arg("--socket"),
    peers: peersFile ? JSON.parse(readFileSync(peersFile, "utf8")) : {},
    slowMs: arg("--slow-ms") ? Number(arg("--slow-ms")) : undefined,
  });
  process.stdout.write(`fake localapi listening on ${api.socketPath}\n`);
  const shutdown = async () => { await api.stop(); process.exit(0); };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
