// cloudflared metrics server, facts section 1.4: default `localhost:0` tries 20241..20245 then a
// random port; /quicktunnel -> {"hostname":"<bare>"} (text/plain, Go's sniffed type), /ready is
// 200 once a connection is registered and 503 before, /healthcheck -> "OK\n",
// /debug/pprof/cmdline -> 403. Only 127.0.0.1 is ever bound by this fake.
import type { Server } from "bun";

export interface MetricsState {
  quickHostname: string; // "" for named tunnels
  connectorId: string;
  readyConnections: () => number;
}

const TEXT = { "Content-Type": "text/plain; charset=utf-8" };

function handler(state: MetricsState) {
  return (req: Request): Response => {
    const path = new URL(req.url).pathname;
    if (path === "/quicktunnel") return new Response(JSON.stringify({ hostname: state.quickHostname }), { headers: TEXT });
    if (path === "/ready") {
      const n = state.readyConnections();
      const status = n > 0 ? 200 : 503;
      return new Response(JSON.stringify({ status, readyConnections: n, connectorId: state.connectorId }), { status, headers: TEXT });
    }
    if (path === "/healthcheck") return new Response("OK\n", { headers: TEXT });
    if (path === "/metrics") {
      const body = `# HELP cloudflared_tunnel_ha_connections Number of active ha connections\n# TYPE cloudflared_tunnel_ha_connections gauge\ncloudflared_tunnel_ha_connections ${state.readyConnections()}\n`;
      return new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
    }
    if (path === "/config") return new Response(JSON.stringify({ version: 0, config: {} }), { headers: TEXT });
    if (path === "/debug/pprof/cmdline") return new Response("Forbidden\n", { status: 403, headers: TEXT });
    return new Response("404 page not found\n", { status: 404, headers: TEXT });
  };
}

function tryListen(port: number, state: MetricsState): Server<unknown> | null {
  try {
    return Bun.serve({ hostname: "127.0.0.1", port, fetch: handler(state) });
  } catch {
    return null;
  }
}

/** Binds the metrics server; returns the server and the address to log. */
export function startMetrics(flag: string | undefined, state: MetricsState): { server: Server<unknown>; addr: string } {
  const value = flag ?? "localhost:0";
  const port = Number(value.slice(value.lastIndexOf(":") + 1)) || 0;
  let server: Server<unknown> | null = null;
  if (value === "localhost:0") {
    for (let p = 20241; p <= 20245 && !server; p++) server = tryListen(p, state);
  }
  server ??= tryListen(port, state);
  if (!server) throw new Error(`failed to bind metrics server on ${value}`);
  return { server, addr: `127.0.0.1:${server.port}` };
}
