// A local HTTP + WebSocket forwarder on 127.0.0.1 that stands in for the public edge of a tunnel:
// tests send requests to it and it proxies them to the origin, after a hook has rewritten the
// headers the way cloudflared (facts section 6) or tailscaled serve/funnel (section 5) would.
import type { Server, ServerWebSocket } from "bun";

export interface ForwardContext {
  headers: Headers; // request headers to send to the origin (hop-by-hop already removed)
  isWebSocket: boolean;
}

export interface ForwarderOptions {
  /** Origin base URL such as http://127.0.0.1:3000, or null when there is none. */
  origin: () => string | null;
  rewrite: (ctx: ForwardContext) => void;
  /** Response when the origin cannot be reached (default: 502 with an empty body). */
  onOriginError?: (error: unknown, origin: string) => Response;
  port?: number;
}

export interface Forwarder {
  port: number;
  inFlight: () => number;
  stop: (force?: boolean) => void;
}

const HOP_BY_HOP = [
  "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
  "te", "trailer", "transfer-encoding", "upgrade",
];

function stripHopByHop(headers: Headers): void {
  for (const name of (headers.get("connection") ?? "").split(",")) {
    if (name.trim()) headers.delete(name.trim());
  }
  for (const name of HOP_BY_HOP) headers.delete(name);
}

interface WsData {
  upstream: WebSocket;
  pending: (string | ArrayBuffer)[];
}

const safeCloseCode = (code: number) => (code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000);

export function startForwarder(opts: ForwarderOptions): Forwarder {
  let inFlight = 0;

  async function forwardWebSocket(req: Request, server: Server<WsData>, target: URL, headers: Headers) {
    target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
    const protocols = (req.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((p) => p.trim()).filter(Boolean);
    const wsHeaders: Record<string, string> = {};
    headers.forEach((value, name) => {
      if (!name.startsWith("sec-websocket-")) wsHeaders[name] = value;
    });
    const upstream = new WebSocket(target.href, { headers: wsHeaders, protocols } as never);
    upstream.binaryType = "arraybuffer";
    const data: WsData = { upstream, pending: [] };
    upstream.onmessage = (e) => data.pending.push(e.data);
    const opened = await new Promise<boolean>((resolve) => {
      upstream.onopen = () => resolve(true);
      upstream.onerror = () => resolve(false);
      upstream.onclose = () => resolve(false);
      setTimeout(() => resolve(false), 5000);
    });
    if (!opened) return opts.onOriginError?.(new Error("websocket origin failed"), target.origin)
      ?? new Response(null, { status: 502 });
    const extra = upstream.protocol ? { "Sec-WebSocket-Protocol": upstream.protocol } : undefined;
    if (server.upgrade(req, { data, headers: extra })) return undefined;
    upstream.close();
    return new Response("upgrade failed", { status: 400 });
  }

  const server = Bun.serve<WsData, never>({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    idleTimeout: 0, // long-lived streams (SSE) must not be cut by the fake
    async fetch(req, server) {
      const origin = opts.origin();
      if (!origin) return new Response(null, { status: 503 });
      const url = new URL(req.url);
      const target = new URL(url.pathname + url.search, origin);
      const isWebSocket = (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
      const headers = new Headers(req.headers);
      stripHopByHop(headers);
      opts.rewrite({ headers, isWebSocket });
      if (isWebSocket) return forwardWebSocket(req, server, target, headers);

      inFlight++;
      let done = false;
      const finish = () => { if (!done) { done = true; inFlight--; } };
      try {
        const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.body !== null;
        const res = await fetch(target, {
          method: req.method,
          headers,
          body: hasBody ? req.body : undefined,
          redirect: "manual",
          decompress: false,
          duplex: "half",
        } as RequestInit);
        const outHeaders = new Headers(res.headers);
        stripHopByHop(outHeaders);
        if (!res.body) { finish(); return new Response(null, { status: res.status, headers: outHeaders }); }
        const body = res.body.pipeThrough(new TransformStream({ flush: finish }));
        return new Response(body, { status: res.status, statusText: res.statusText, headers: outHeaders });
      } catch (error) {
        finish();
        return opts.onOriginError?.(error, origin) ?? new Response(null, { status: 502 });
      }
    },
    websocket: {
      open(ws: ServerWebSocket<WsData>) {
        const { upstream, pending } = ws.data;
        for (const m of pending.splice(0)) ws.send(m);
        upstream.onmessage = (e) => ws.send(e.data);
        upstream.onclose = (e) => ws.close(safeCloseCode(e.code), e.reason);
      },
      message(ws: ServerWebSocket<WsData>, message) {
        ws.data.upstream.send(message);
      },
      close(ws: ServerWebSocket<WsData>, code, reason) {
        ws.data.upstream.close(safeCloseCode(code), reason);
      },
    },
  });

  return { port: server.port!, inFlight: () => inFlight, stop: (force = true) => server.stop(force) };
}
