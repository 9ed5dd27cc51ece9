// A TCP forwarder that behaves like tailscaled in userspace-networking mode (the Docker image's
// default TS_USERSPACE=true, Synology, `tailscaled --tun=userspace-networking`): each inbound
// tailnet connection is re-dialled to the local service FROM 127.0.0.1, so the service sees a
// loopback peer, and LocalAPI WhoIs of that exact `127.0.0.1:<port>` answers for the tailnet
// peer. Facts §4.2: "Connections that tailscaled proxied to 127.0.0.1 are resolved through the
// ProxyMapper only for netstack forwarding" (ipn/ipnlocal/local.go, wgengine/netstack).
//
// Library:  const fwd = await startUserspaceForwarder({ listenHost: peer.hostAddress,
//             targetPort: lk.dashboardPort, localApi: api, peerFor: () => "100.64.0.2" });
//           // a namespace peer connects to fwd.host:fwd.port; latchkey sees 127.0.0.1:<eph>,
//           // and api.connections has "127.0.0.1:<eph>" -> "100.64.0.2" while it is open.
//           fwd.history; fwd.active(); await fwd.stop();
//
// The mapping is registered once the outbound connection has its source port and BEFORE the
// first byte is forwarded (the inbound socket stays paused until then), and removed when
// the connection closes, as netstack does.
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { FakeLocalApi } from "./localapi.ts";

export interface UserspaceForwarderOptions {
  /** Where tailnet peers connect, e.g. a veth host address (default 127.0.0.1). */
  listenHost?: string;
  /** Default 0 (ephemeral); read `port` back. */
  listenPort?: number;
  /** The local service's port (latchkey's dashboard or API listener). */
  targetPort: number;
  /** The local service's address (default 127.0.0.1). */
  targetHost?: string;
  /** The LocalAPI fake that learns each proxied connection (its ProxyMapper). */
  localApi: Pick<FakeLocalApi, "mapConnection" | "unmapConnection">;
  /**
   * The tailnet IP this inbound connection stands for (a peer the fake LocalAPI knows), or a
   * fixed IP for every connection. null: forward without a mapping (WhoIs then answers 404).
   */
  peerFor: string | ((inbound: Socket) => string | null);
  /**
   * Dial from this 127.0.0.1 port instead of an ephemeral one, e.g. to reproduce the kernel
   * handing a just-used port to the next connection to another destination. Note: the
   * outbound side is then closed with a reset when the tailnet side goes, so this end keeps
   * no TIME_WAIT and the port can be bound again at once.
   */
  sourcePort?: number;
}

export interface ProxiedConnection {
  /** The source address latchkey sees, e.g. "127.0.0.1:41234". */
  addr: string;
  /** The tailnet IP WhoIs answers for, or null when unmapped. */
  peer: string | null;
  openedAt: number;
  closedAt?: number;
}

export interface UserspaceForwarder {
  host: string;
  port: number;
  /** Every connection proxied so far, oldest first. */
  history: ProxiedConnection[];
  /** Connections open now. */
  active(): number;
  /** Stops listening and closes every open connection (their mappings go with them). */
  stop(): Promise<void>;
}

/** Starts a forwarder; resolves once it listens. */
export async function startUserspaceForwarder(opts: UserspaceForwarderOptions): Promise<UserspaceForwarder> {
  const targetHost = opts.targetHost ?? "127.0.0.1";
  const history: ProxiedConnection[] = [];
  const open = new Set<Socket>();

  /** Connects to the target from 127.0.0.1; a fixed source port is retried while the kernel still holds it. */
  const dial = () => new Promise<Socket>((resolve, reject) => {
    let attempts = 0;
    const attempt = () => {
      // Note: dialled explicitly from 127.0.0.1, as tailscaled's netstack forwarder does.
      const socket = connect({ host: targetHost, port: opts.targetPort, localAddress: "127.0.0.1", localPort: opts.sourcePort });
      socket.once("connect", () => {
        socket.removeAllListeners("error");
        resolve(socket);
      });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        socket.destroy();
        if (err.code === "EADDRINUSE" && opts.sourcePort && ++attempts < 50) setTimeout(attempt, 10);
        else reject(err);
      });
    };
    attempt();
  });

  const server: Server = createServer(async (inbound) => {
    // Nothing is read from the tailnet side until the mapping exists.
    inbound.pause();
    inbound.on("error", () => inbound.destroy());
    open.add(inbound);
    const peer = typeof opts.peerFor === "function" ? opts.peerFor(inbound) : opts.peerFor;
    let outbound: Socket;
    try {
      outbound = await dial();
    } catch {
      inbound.destroy(); // the target refused: drop the tailnet side too
      open.delete(inbound);
      return;
    }
    if (inbound.destroyed) {
      outbound.destroy();
      open.delete(inbound);
      return;
    }
    open.add(outbound);
    const record: ProxiedConnection = { addr: `${outbound.localAddress}:${outbound.localPort}`, peer, openedAt: Date.now() };
    history.push(record);
    if (peer) opts.localApi.mapConnection(record.addr, peer);
    // `pipe` passes each side's end on, so a response is flushed before the tailnet side
    // closes; once that side is gone nothing is left to deliver. The mapping goes once both
    // are closed. An error on either side ends both.
    let closed = 0;
    for (const s of [inbound, outbound]) {
      s.on("error", () => { inbound.destroy(); outbound.destroy(); });
      s.once("close", () => {
        open.delete(s);
        if (s === inbound) {
          if (opts.sourcePort) outbound.resetAndDestroy();
          else outbound.destroy();
        }
        if (++closed < 2) return;
        record.closedAt = Date.now();
        if (peer) opts.localApi.unmapConnection(record.addr);
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.resume();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listenPort ?? 0, opts.listenHost ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;

  return {
    host: address.address,
    port: address.port,
    history,
    active: () => history.filter((c) => c.closedAt === undefined).length,
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
