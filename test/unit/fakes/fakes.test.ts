// Proves the fakes in test/fakes match /work/shared/reference/tailscale-cloudflared-facts.md.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join, resolve } from "node:path";
import { startFakeLocalApi, type FakeLocalApi } from "../../fakes/localapi.ts";
import { killAll, readPort, readRecord, run, runToEnd, startEchoOrigin, tmp, waitFor } from "./helpers.ts";

const origin = startEchoOrigin();
const ORIGIN_URL = `http://127.0.0.1:${origin.port}`;
const FAST_CF = {
  FAKE_CLOUDFLARED_READY_DELAY_MS: "100",
  FAKE_CLOUDFLARED_REGISTER_DELAY_MS: "50",
  FAKE_CLOUDFLARED_SHUTDOWN_MS: "50",
};
const QUICK_ARGS = ["tunnel", "--no-autoupdate", "--metrics", "127.0.0.1:0", "--url", ORIGIN_URL];
const TOKEN = Buffer.from(JSON.stringify({ a: "acct", t: "6ff42ae2-765d-4adf-8112-31c55c1551ef", s: "c2VjcmV0LXNlY3JldA==" })).toString("base64");
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INF|ERR|WRN) /;

afterAll(() => {
  killAll();
  origin.stop(true);
});

describe("fake cloudflared quick tunnel", () => {
  it("prints the disclaimer, the boxed URL banner and registers one connection on stderr only", async () => {
    const r = run("cloudflared", QUICK_ARGS, FAST_CF);
    await waitFor(r.stderr, /Registered tunnel connection/);
    const lines = r.stderr().trimEnd().split("\n");
    expect(lines.every((l) => LOG_LINE.test(l))).toBe(true);
    expect(lines[0]).toContain("INF Thank you for trying Cloudflare Tunnel.");
    expect(lines[1]).toEndWith("INF Requesting new quick Tunnel on trycloudflare.com...");
    expect(lines[2]).toEndWith(`INF +${"-".repeat(92)}+`);
    expect(lines[3]).toEndWith("INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |");
    expect(lines[4]).toMatch(/INF \|  https:\/\/[a-z]+(-[a-z]+)+\.trycloudflare\.com +\|$/);
    expect(lines[4]!.length).toBe(lines[3]!.length);
    expect(r.stderr()).toMatch(/Registered tunnel connection connIndex=0 connection=[0-9a-f-]{36} event=0 ip=[\d.]+ location=\w+ protocol=quic\n/);
    expect(r.stderr()).not.toMatch(/connIndex=1/);
    expect(r.stdout()).toBe("");
  });

  it("serves /quicktunnel with the bare hostname and /ready once registered", async () => {
    const r = run("cloudflared", QUICK_ARGS, FAST_CF);
    const [, metrics] = await waitFor(r.stderr, /Starting metrics server on (127\.0\.0\.1:\d+)\/metrics/);
    const banner = (await waitFor(r.stderr, /https:\/\/([a-z-]+\.trycloudflare\.com)/))[1];
    const qt = await fetch(`http://${metrics}/quicktunnel`);
    expect(qt.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await qt.json()).toEqual({ hostname: banner });
    await waitFor(r.stderr, /Registered tunnel connection/);
    const ready = await fetch(`http://${metrics}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 200, readyConnections: 1 });
  });

  it("forwards requests with the Cloudflare headers, the public Host and client headers untouched", async () => {
    const rec = tmp("cf-rec-");
    const r = run("cloudflared", QUICK_ARGS, { ...FAST_CF, FAKE_CLOUDFLARED_RECORD_DIR: rec, FAKE_CLOUDFLARED_CLIENT_IP: "198.51.100.7" });
    const host = (await waitFor(r.stderr, /https:\/\/([a-z-]+\.trycloudflare\.com)/))[1];
    const connector = (await waitFor(r.stderr, /Generated Connector ID: ([0-9a-f-]{36})/))[1];
    const port = await readPort(rec, r.proc.pid);
    const res = await fetch(`http://127.0.0.1:${port}/hello`, {
      method: "POST", body: "payload",
      headers: { "X-Forwarded-For": "10.0.0.1", "Tailscale-User-Login": "mallory@example.com", "X-Forwarded-Proto": "http" },
    });
    const echo = (await res.json()) as { method: string; body: string; headers: Record<string, string> };
    expect(echo.method).toBe("POST");
    expect(echo.body).toBe("payload");
    expect(echo.headers).toMatchObject({
      host, "cf-connecting-ip": "198.51.100.7", "x-forwarded-for": "10.0.0.1, 198.51.100.7",
      "x-forwarded-proto": "https", "cdn-loop": "cloudflare", "cf-warp-tag-id": connector,
      "cf-visitor": '{"scheme":"https"}', "tailscale-user-login": "mallory@example.com",
    });
    expect(echo.headers["cf-ray"]).toMatch(/^[0-9a-f]{16}-[A-Z]{3}$/);
    expect(echo.headers["x-forwarded-host"]).toBeUndefined();
  });

  it("forwards WebSocket upgrades to the origin", async () => {
    const rec = tmp("cf-ws-");
    const r = run("cloudflared", QUICK_ARGS, { ...FAST_CF, FAKE_CLOUDFLARED_RECORD_DIR: rec });
    const port = await readPort(rec, r.proc.pid);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("ping");
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("ws error"));
    });
    ws.close();
    expect(reply).toBe("echo:ping");
  });

  it("answers 502 and logs the origin error when the origin is down, and keeps running", async () => {
    const rec = tmp("cf-down-");
    const r = run("cloudflared", ["tunnel", "--no-autoupdate", "--url", "http://127.0.0.1:9"], { ...FAST_CF, FAKE_CLOUDFLARED_RECORD_DIR: rec });
    const port = await readPort(rec, r.proc.pid);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(502);
    await waitFor(r.stderr, /ERR  error="Unable to reach the origin service\. .*dial tcp 127\.0\.0\.1:9: connect: connection refused" cfRay=\S+ connIndex=0 event=1 ingressRule=0 originService=http:\/\/127\.0\.0\.1:9/);
    expect(r.proc.exitCode).toBeNull();
  });

  it("shuts down gracefully on SIGTERM with exit code 0 and records the exit", async () => {
    const rec = tmp("cf-term-");
    const r = run("cloudflared", QUICK_ARGS, { ...FAST_CF, FAKE_CLOUDFLARED_RECORD_DIR: rec });
    await waitFor(r.stderr, /Registered tunnel connection/);
    r.proc.kill("SIGTERM");
    expect(await r.proc.exited).toBe(0);
    const tail = r.stderr();
    expect(tail).toContain("INF Initiating graceful shutdown due to signal terminated ...");
    expect(tail).toMatch(/Unregistered tunnel connection connIndex=0 event=0 ip=[\d.]+\n/);
    expect(tail.indexOf("Tunnel server stopped")).toBeLessThan(tail.indexOf("Metrics server stopped"));
    expect(readRecord(rec, r.proc.pid).exit).toMatchObject({ code: 0, signal: null });
  });

  it("rejects --grace-period above 3m", async () => {
    const r = await runToEnd("cloudflared", [...QUICK_ARGS, "--grace-period", "4m"], FAST_CF);
    expect(r.code).toBe(1);
    expect(r.stderr).toEndWith("\ngrace-period must be equal or less than 3m0s\n");
  });
});

describe("fake cloudflared named tunnel", () => {
  it("registers four connections from TUNNEL_TOKEN and never shows the token", async () => {
    const rec = tmp("cf-named-");
    const r = run("cloudflared", ["tunnel", "--no-autoupdate", "--metrics", "127.0.0.1:0", "run", "my-tunnel"],
      { ...FAST_CF, TUNNEL_TOKEN: TOKEN, FAKE_CLOUDFLARED_RECORD_DIR: rec, FAKE_CLOUDFLARED_ORIGIN: ORIGIN_URL });
    await waitFor(r.stderr, /connIndex=3/);
    const err = r.stderr();
    expect(err).toMatch(/INF Starting tunnel tunnelID=6ff42ae2-765d-4adf-8112-31c55c1551ef\n/);
    expect(err).not.toContain("Cannot determine default configuration path");
    for (const i of [0, 1, 2, 3]) expect(err).toMatch(new RegExp(`Registered tunnel connection connIndex=${i} connection=`));
    expect(err).not.toContain(TOKEN);
    const record = readRecord(rec, r.proc.pid);
    expect(record.argv.join(" ")).not.toContain(TOKEN);
    expect(record.env.TUNNEL_TOKEN).toBe(TOKEN);
    const metrics = err.match(/metrics server on (\S+)\/metrics/)![1];
    expect(await (await fetch(`http://${metrics}/quicktunnel`)).json()).toEqual({ hostname: "" });
  });

  it("rejects a malformed token with the two-line usage error and exit 255", async () => {
    const r = await runToEnd("cloudflared", ["tunnel", "--no-autoupdate", "run", "x"], { TUNNEL_TOKEN: "not-a-token" });
    expect(r.code).toBe(255);
    expect(r.stderr).toBe("Provided Tunnel token is not valid.\nSee 'cloudflared tunnel run --help'.\n");
  });

  it("treats --no-autoupdate after run as an unknown flag on stdout with exit 0", async () => {
    const r = await runToEnd("cloudflared", ["tunnel", "run", "--no-autoupdate", "x"], { TUNNEL_TOKEN: TOKEN });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("Incorrect Usage: flag provided but not defined: -no-autoupdate\n");
  });
});

describe("fake cloudflared control modes", () => {
  it("fail mode exits 1 with the quick-tunnel request error and no banner", async () => {
    const r = await runToEnd("cloudflared", QUICK_ARGS, { ...FAST_CF, FAKE_CLOUDFLARED_MODE: "fail" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\nfailed to request quick Tunnel: Post "https:\/\/api\.trycloudflare\.com\/tunnel": dial tcp: .*\n$/);
    expect(r.stderr).not.toContain("trycloudflare.com  ");
  });

  it("hang mode never prints the banner and dies at once from SIGTERM", async () => {
    const r = run("cloudflared", QUICK_ARGS, { ...FAST_CF, FAKE_CLOUDFLARED_MODE: "hang" });
    await waitFor(r.stderr, /Requesting new quick Tunnel/);
    await Bun.sleep(300);
    expect(r.stderr()).not.toContain("+---");
    r.proc.kill("SIGTERM");
    await r.proc.exited;
    expect(r.proc.signalCode).toBe("SIGTERM");
  });

  it("exit-late mode ignores SIGTERM for the configured time", async () => {
    const r = run("cloudflared", QUICK_ARGS, { ...FAST_CF, FAKE_CLOUDFLARED_MODE: "exit-late", FAKE_CLOUDFLARED_EXIT_DELAY_MS: "600" });
    await waitFor(r.stderr, /Registered tunnel connection/);
    const t0 = Date.now();
    r.proc.kill("SIGTERM");
    await Bun.sleep(300);
    expect(r.proc.exitCode).toBeNull();
    expect(await r.proc.exited).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  });

  it("crash-after mode becomes ready, then exits 1 with an error line", async () => {
    const r = run("cloudflared", QUICK_ARGS, { ...FAST_CF, FAKE_CLOUDFLARED_MODE: "crash-after", FAKE_CLOUDFLARED_CRASH_AFTER_MS: "200" });
    await waitFor(r.stderr, /Registered tunnel connection/);
    expect(await r.proc.exited).toBe(1);
    expect(r.stderr()).toMatch(/ERR Initiating shutdown error=/);
  });
});

describe("fake tailscale funnel and serve", () => {
  let stateDir: string;
  let rec: string;
  const env = () => ({ FAKE_TAILSCALE_STATE_DIR: stateDir, FAKE_TAILSCALE_RECORD_DIR: rec, FAKE_TAILSCALE_READY_DELAY_MS: "20" });
  beforeAll(() => {
    stateDir = tmp("ts-state-");
    rec = tmp("ts-rec-");
  });
  const port = origin.port;

  it("prints the foreground funnel block and shows it in funnel status", async () => {
    const r = run("tailscale", ["funnel", String(port)], env());
    await waitFor(r.stdout, /Press Ctrl\+C to exit\.\n/);
    expect(r.stdout()).toBe(`Available on the internet:\n\nhttps://host.tailnet.ts.net/\n|-- proxy http://127.0.0.1:${port}\n\nPress Ctrl+C to exit.\n`);
    const status = await runToEnd("tailscale", ["funnel", "status"], env());
    expect(status.stdout).toBe("# Funnel on:\n#     - https://host.tailnet.ts.net\n\nNo serve config\n");
    const json = JSON.parse((await runToEnd("tailscale", ["funnel", "status", "--json"], env())).stdout);
    const [session] = Object.values(json.Foreground) as any[];
    expect(session).toEqual({
      TCP: { "443": { HTTPS: true } },
      Web: { "host.tailnet.ts.net:443": { Handlers: { "/": { Proxy: `http://127.0.0.1:${port}` } } } },
      AllowFunnel: { "host.tailnet.ts.net:443": true },
    });
    r.proc.kill("SIGINT");
    expect(await r.proc.exited).toBe(0);
    expect((await runToEnd("tailscale", ["funnel", "status", "--json"], env())).stdout).toBe("{}\n");
  });

  it("forwards funnel traffic with only Tailscale-Funnel-Request and strips client identity headers", async () => {
    const r = run("tailscale", ["funnel", String(port)], env());
    const fwd = await readPort(rec, r.proc.pid);
    const res = await fetch(`http://127.0.0.1:${fwd}/x`, {
      headers: { "Tailscale-User-Login": "mallory@example.com", "X-Forwarded-Host": "evil", Forwarded: "for=1.2.3.4" },
    });
    const echo = (await res.json()) as { headers: Record<string, string> };
    expect(echo.headers).toMatchObject({
      host: "host.tailnet.ts.net", "x-forwarded-host": "host.tailnet.ts.net", "x-forwarded-proto": "https",
      "x-forwarded-for": "100.101.102.103", "tailscale-funnel-request": "?1",
    });
    for (const h of ["tailscale-user-login", "tailscale-user-name", "forwarded", "tailscale-headers-info"]) expect(echo.headers[h]).toBeUndefined();
    r.proc.kill("SIGTERM");
    await r.proc.exited;
    expect(r.proc.signalCode).toBe("SIGTERM"); // 3.1: SIGTERM is not caught
    expect((await runToEnd("tailscale", ["funnel", "status", "--json"], env())).stdout).toBe("{}\n");
  });

  it("adds the identity headers of a tailnet user on serve, Q-encoded when not ASCII, and none for tagged nodes", async () => {
    const user = { FAKE_TAILSCALE_USER_LOGIN: "bob@example.com", FAKE_TAILSCALE_USER_NAME: "Bób", FAKE_TAILSCALE_CLIENT_IP: "100.64.0.9" };
    const r = run("tailscale", ["serve", String(port)], { ...env(), ...user });
    await waitFor(r.stdout, /Available within your tailnet:/);
    const fwd = await readPort(rec, r.proc.pid);
    const echo = (await (await fetch(`http://127.0.0.1:${fwd}/`)).json()) as { headers: Record<string, string> };
    expect(echo.headers).toMatchObject({
      "tailscale-user-login": "bob@example.com", "tailscale-user-name": "=?utf-8?q?B=C3=B3b?=",
      "tailscale-user-profile-pic": "", "tailscale-headers-info": "https://tailscale.com/s/serve-headers",
      "x-forwarded-for": "100.64.0.9",
    });
    expect(echo.headers["tailscale-funnel-request"]).toBeUndefined();
    r.proc.kill("SIGINT");
    await r.proc.exited;

    const t = run("tailscale", ["serve", String(port)], { ...env(), FAKE_TAILSCALE_TAGGED: "1" });
    const tfwd = await readPort(rec, t.proc.pid);
    const tagged = (await (await fetch(`http://127.0.0.1:${tfwd}/`)).json()) as { headers: Record<string, string> };
    expect(Object.keys(tagged.headers).filter((h) => h.startsWith("tailscale-"))).toEqual([]);
    t.proc.kill("SIGINT");
    await t.proc.exited;
  });

  it("runs --bg in the background until funnel --https=443 off, which then fails when repeated", async () => {
    const bg = await runToEnd("tailscale", ["funnel", "--bg", String(port)], env());
    expect(bg.code).toBe(0);
    expect(bg.stdout).toEndWith("\n\nFunnel started and running in the background.\nTo disable the proxy, run: tailscale funnel --https=443 off\n");
    const status = await runToEnd("tailscale", ["funnel", "status"], env());
    expect(status.stdout).toContain(`https://host.tailnet.ts.net (Funnel on)\n|-- / proxy http://127.0.0.1:${port}\n`);
    expect((await runToEnd("tailscale", ["funnel", "--https=443", "off"], env())).code).toBe(0);
    const again = await runToEnd("tailscale", ["funnel", "--https=443", "off"], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("error: failed to remove web serve: handler does not exist\ntry `tailscale funnel --help` for usage info\n");
  });

  it("reports the real error texts and exit codes of section 3.4", async () => {
    const noDaemon = await runToEnd("tailscale", ["funnel", "3000"], { ...env(), FAKE_TAILSCALE_MODE: "fail" });
    expect(noDaemon.code).toBe(1);
    expect(noDaemon.stderr).toBe("getting client status: failed to connect to local tailscaled; it doesn't appear to be running\n");
    const denied = await runToEnd("tailscale", ["funnel", "3000"], { ...env(), FAKE_TAILSCALE_MODE: "fail", FAKE_TAILSCALE_FAIL: "access-denied" });
    expect(denied.stderr).toBe("sending serve config: Access denied: serve config denied\n\nUse 'sudo tailscale funnel 3000'.\nTo not require root, use 'sudo tailscale set --operator=$USER' once.\n");
    const legacy = await runToEnd("tailscale", ["funnel", "3000", "off"], env());
    expect(legacy.code).toBe(1);
    expect(legacy.stderr).toStartWith("Error: the CLI for serve and funnel has changed.\nPlease see https://tailscale.com/kb/1242/tailscale-serve for more information.\n");
    const loggedOut = await runToEnd("tailscale", ["serve", "3000"], { ...env(), FAKE_TAILSCALE_MODE: "fail", FAKE_TAILSCALE_FAIL: "logged-out" });
    expect([loggedOut.code, loggedOut.stderr]).toEqual([1, "Logged out.\n"]);
  });

  it("hang mode prints nothing and never forwards", async () => {
    const r = run("tailscale", ["funnel", String(port)], { ...env(), FAKE_TAILSCALE_MODE: "hang" });
    await Bun.sleep(300);
    expect(r.stdout()).toBe("");
    expect(existsSync(join(rec, `${r.proc.pid}.port`))).toBe(false);
    r.proc.kill("SIGKILL");
  });

  it("prints status --json with 2-space indent, no trailing newline, and version", async () => {
    const st = await runToEnd("tailscale", ["--socket=/tmp/none.sock", "status", "--json"], env());
    expect(st.code).toBe(0);
    expect(st.stdout).not.toEndWith("\n");
    const status = JSON.parse(st.stdout);
    expect(status).toMatchObject({ BackendState: "Running", Self: { DNSName: "host.tailnet.ts.net.", HostName: "host" } });
    expect(status.CurrentTailnet.MagicDNSSuffix).toBe("tailnet.ts.net");
    expect((await runToEnd("tailscale", ["version"])).stdout).toStartWith("1.103.0\n");
  });
});

describe("fake LocalAPI", () => {
  let api: FakeLocalApi;
  const get = (path: string, init: RequestInit = {}) => fetch(`http://local-tailscaled.sock${path}`, { ...init, unix: api.socketPath } as RequestInit);
  beforeAll(async () => {
    api = await startFakeLocalApi({
      peers: {
        "100.64.0.2": { UserProfile: { ID: 42, LoginName: "alice@example.com", DisplayName: "Alice", ProfilePicURL: "https://x/p.png" } },
        "100.64.0.3": { Tags: ["tag:server"], HostName: "build" },
      },
      slowMs: 300,
    });
  });
  afterAll(() => api.stop());

  it("answers whois for IP and IP:port with a tab-indented WhoIsResponse", async () => {
    const res = await get("/localapi/v0/whois?addr=100.64.0.2:51234");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("tailscale-version")).toBeTruthy();
    expect(res.headers.get("tailscale-cap")).toBeTruthy();
    const text = await res.text();
    expect(text).toStartWith('{\n\t"Node": {\n\t\t"ID": ');
    const body = JSON.parse(text);
    expect(body.UserProfile).toEqual({ ID: 42, LoginName: "alice@example.com", DisplayName: "Alice", ProfilePicURL: "https://x/p.png" });
    expect(body.CapMap).toBeNull();
    expect(body.Node.Name).toMatch(/\.ts\.net\.$/);
    expect(body.Node.Addresses).toEqual(["100.64.0.2/32"]);
    expect(body.Node.Tags).toBeUndefined();
    expect((await (await get("/localapi/v0/whois?addr=100.64.0.2")).json()).UserProfile.LoginName).toBe("alice@example.com");
  });

  it("resolves a tagged node to the tagged-devices pseudo-user", async () => {
    const body = await (await get("/localapi/v0/whois?addr=100.64.0.3")).json();
    expect(body.Node.Tags).toEqual(["tag:server"]);
    expect(body.UserProfile.LoginName).toBe("tagged-devices");
    expect(body.Node.User).toBe(body.UserProfile.ID);
  });

  it("returns the plain-text errors: 404 no match, 400 missing or invalid addr, 404 page not found", async () => {
    const cases: [string, number, string][] = [
      ["/localapi/v0/whois?addr=100.64.9.9:80", 404, "no match for IP:port\n"],
      ["/localapi/v0/whois", 400, "missing 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=not-an-ip", 400, "invalid 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=nodekey:zz", 400, "invalid nodekey in 'addr' parameter\n"],
      ["/localapi/v0/nope", 404, "404 page not found\n"],
    ];
    for (const [path, status, body] of cases) {
      const res = await get(path);
      expect([res.status, await res.text(), res.headers.get("content-type")]).toEqual([status, body, "text/plain; charset=utf-8"]);
    }
  });

  it("refuses a wrong Host (Node's default localhost) and any Origin with 403", async () => {
    const viaNode = await new Promise<[number, string]>((resolve) => {
      http.get({ socketPath: api.socketPath, path: "/localapi/v0/status" }, (res) => {
        let d = "";
        res.on("data", (c) => (d += c));
        res.on("end", () => resolve([res.statusCode!, d]));
      });
    });
    expect(viaNode).toEqual([403, "invalid localapi request\n"]);
    const withOrigin = await get("/localapi/v0/status", { headers: { Origin: "http://evil" } });
    expect(withOrigin.status).toBe(403);
  });

  it("serves status with peers, or without them for peers=false", async () => {
    const full = await (await get("/localapi/v0/status")).json();
    expect(full.BackendState).toBe("Running");
    expect(Object.keys(full.Peer)).toHaveLength(2);
    const lean = await (await get("/localapi/v0/status?peers=false")).json();
    expect(lean.Peer).toBeUndefined();
  });

  it("supports setPeer, slow and down modes and records requests", async () => {
    api.setPeer("100.64.0.7", { UserProfile: { LoginName: "carol@example.com", DisplayName: "Carol" } });
    expect((await (await get("/localapi/v0/whois?addr=100.64.0.7")).json()).UserProfile.ProfilePicURL).toBeUndefined();
    api.setMode("slow");
    const t0 = Date.now();
    await get("/localapi/v0/whois?addr=100.64.0.7");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    api.setMode("down");
    await expect(get("/localapi/v0/status")).rejects.toThrow();
    api.setMode("normal");
    expect((await get("/localapi/v0/status")).status).toBe(200);
    expect(api.requests.some((r) => r.query.addr === "100.64.0.7")).toBe(true);
  });

  it("answers WhoIs for an exact ip:port connection mapping, like netstack's ProxyMapper (4.2)", async () => {
    const whois = async (addr: string) => {
      const res = await get(`/localapi/v0/whois?addr=${encodeURIComponent(addr)}`);
      return [res.status, res.status === 200 ? (await res.json()).UserProfile.LoginName : await res.text()];
    };
    expect(await whois("127.0.0.1:54321")).toEqual([404, "no match for IP:port\n"]);
    api.mapConnection("127.0.0.1:54321", "100.64.0.2");
    api.mapConnection("[::1]:54322", "100.64.0.3:41641"); // a peer ip:port: the port is ignored
    expect(await whois("127.0.0.1:54321")).toEqual([200, "alice@example.com"]);
    const body = await (await get("/localapi/v0/whois?addr=127.0.0.1:54321")).json();
    expect(body.Node.Addresses).toEqual(["100.64.0.2/32"]);
    expect(await whois("[::1]:54322")).toEqual([200, "tagged-devices"]);
    // Only the exact ip:port: not the bare IP, not another port, not another loopback address.
    expect(await whois("127.0.0.1")).toEqual([404, "no match for IP:port\n"]);
    expect(await whois("127.0.0.1:54323")).toEqual([404, "no match for IP:port\n"]);
    expect(await whois("127.0.0.2:54321")).toEqual([404, "no match for IP:port\n"]);
    expect([...api.connections]).toEqual([["127.0.0.1:54321", "100.64.0.2"], ["[::1]:54322", "100.64.0.3"]]);
    // A mapping to a peer WhoIs does not know answers 404, as the lookup happens on WhoIs.
    api.mapConnection("127.0.0.1:54324", "100.64.9.9");
    expect(await whois("127.0.0.1:54324")).toEqual([404, "no match for IP:port\n"]);
    for (const addr of ["127.0.0.1:54321", "[::1]:54322", "127.0.0.1:54324"]) api.unmapConnection(addr);
    api.unmapConnection("127.0.0.1:1"); // unknown: ignored
    expect(await whois("127.0.0.1:54321")).toEqual([404, "no match for IP:port\n"]);
    expect(api.connections.size).toBe(0);
    expect(() => api.mapConnection("127.0.0.1", "100.64.0.2")).toThrow(/not ip:port/);
    expect(() => api.mapConnection("127.0.0.1:1", "nope")).toThrow(/not an IP/);
  });

  it("runs as its own process from the command line", async () => {
    const dir = tmp("localapi-cli-");
    const socket = join(dir, "ts.sock");
    writeFileSync(join(dir, "peers.json"), JSON.stringify({ "100.64.1.1": { UserProfile: { LoginName: "dan@example.com" } } }));
    const proc = Bun.spawn([process.execPath, resolve(import.meta.dir, "../../fakes/localapi.ts"), "--socket", socket, "--peers", join(dir, "peers.json")], { stdout: "pipe" });
    try {
      await waitFor(() => (existsSync(socket) ? "up" : ""), /up/);
      const res = await fetch("http://local-tailscaled.sock/localapi/v0/whois?addr=100.64.1.1", { unix: socket } as RequestInit);
      expect((await res.json()).UserProfile.LoginName).toBe("dan@example.com");
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    expect(existsSync(socket)).toBe(false);
  });
});
