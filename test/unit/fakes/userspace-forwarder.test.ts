// Proves test/fakes/userspace-forwarder.ts behaves like userspace tailscaled (facts §4.2): the
// service sees a 127.0.0.1 peer, and WhoIs of that exact ip:port names the tailnet peer for
// as long as the connection is open, from its first byte.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Server } from "bun";
import { connect } from "node:net";
import { startFakeLocalApi, type FakeLocalApi } from "../../fakes/localapi.ts";
import { startUserspaceForwarder, type UserspaceForwarder } from "../../fakes/userspace-forwarder.ts";
import { curlFrom } from "../../helpers/netns.ts";
import { waitFor } from "./helpers.ts";

let api: FakeLocalApi;
let origin: Server<unknown>;
const forwarders: UserspaceForwarder[] = [];

/** What the origin saw: its TCP peer, and WhoIs of that exact ip:port asked while the request was open. */
interface Seen { address: string; port: number; whois: number; login: string | null; body: string }

beforeAll(async () => {
  api = await startFakeLocalApi({
    peers: {
      "100.64.0.2": { UserProfile: { ID: 12345, LoginName: "alice@example.com" } },
      "100.64.0.4": { Tags: ["tag:server"] },
    },
  });
  origin = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, server) {
      const peer = server.requestIP(req)!;
      const res = await fetch(`http://local-tailscaled.sock/localapi/v0/whois?addr=${peer.address}:${peer.port}`, { unix: api.socketPath } as RequestInit);
      const login = res.status === 200 ? (await res.json()).UserProfile.LoginName : null;
      const seen: Seen = { address: peer.address, port: peer.port, whois: res.status, login, body: await req.text() };
      return Response.json(seen);
    },
  });
});
afterAll(async () => {
  for (const f of forwarders) await f.stop();
  origin.stop(true);
  await api.stop();
});

async function forwarder(peerFor: Parameters<typeof startUserspaceForwarder>[0]["peerFor"]) {
  const f = await startUserspaceForwarder({ targetPort: origin.port!, localApi: api, peerFor });
  forwarders.push(f);
  return f;
}

describe("userspace forwarder", () => {
  it("re-dials from 127.0.0.1 and maps that exact ip:port to the peer before the first byte", async () => {
    const fwd = await forwarder("100.64.0.2");
    const res = await curlFrom(null, `http://127.0.0.1:${fwd.port}/`, { method: "POST", body: "hello" });
    const seen: Seen = res.json();
    expect(seen).toMatchObject({ address: "127.0.0.1", whois: 200, login: "alice@example.com", body: "hello" });
    expect(fwd.history).toHaveLength(1);
    expect(fwd.history[0]).toMatchObject({ addr: `127.0.0.1:${seen.port}`, peer: "100.64.0.2" });
    // Gone once the connection closes: the same ip:port is then an ordinary local peer (404).
    await waitFor(() => (api.connections.size === 0 && fwd.active() === 0 ? "closed" : ""), /closed/);
    expect(fwd.history[0]!.closedAt).toBeNumber();
    const after = await fetch(`http://local-tailscaled.sock/localapi/v0/whois?addr=127.0.0.1:${seen.port}`, { unix: api.socketPath } as RequestInit);
    expect(after.status).toBe(404);
  });

  it("asks peerFor per connection and leaves a null answer unmapped (WhoIs 404)", async () => {
    const answers = ["100.64.0.4", null];
    const fwd = await forwarder(() => answers.shift() ?? null);
    const tagged: Seen = (await curlFrom(null, `http://127.0.0.1:${fwd.port}/`)).json();
    expect(tagged).toMatchObject({ address: "127.0.0.1", whois: 200, login: "tagged-devices" });
    const unmapped: Seen = (await curlFrom(null, `http://127.0.0.1:${fwd.port}/`)).json();
    expect(unmapped).toMatchObject({ address: "127.0.0.1", whois: 404, login: null });
    expect(fwd.history.map((c) => c.peer)).toEqual(["100.64.0.4", null]);
  });

  it("is not what a direct local connection looks like: that one's port has no mapping", async () => {
    const seen: Seen = (await curlFrom(null, `http://127.0.0.1:${origin.port}/`)).json();
    expect(seen).toMatchObject({ address: "127.0.0.1", whois: 404, login: null });
  });

  it("closes the tailnet side and maps nothing when the target refuses", async () => {
    // A port that was just free: nothing listens on it now.
    const spare = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const deadPort = spare.port!;
    spare.stop(true);
    const refused = await startUserspaceForwarder({ targetPort: deadPort, localApi: api, peerFor: "100.64.0.2" });
    forwarders.push(refused);
    await expect(curlFrom(null, `http://127.0.0.1:${refused.port}/`, { timeoutMs: 3000 })).rejects.toThrow(/curl/);
    expect(refused.history).toHaveLength(0);
    expect(api.connections.size).toBe(0);
  });

  it("keeps the mapping while an idle connection is open, and drops it on stop()", async () => {
    const fwd = await startUserspaceForwarder({ targetPort: origin.port!, localApi: api, peerFor: "100.64.0.2" });
    const client = connect({ host: "127.0.0.1", port: fwd.port });
    client.on("error", () => {});
    await waitFor(() => (api.connections.size === 1 ? "mapped" : ""), /mapped/);
    expect([...api.connections.values()]).toEqual(["100.64.0.2"]);
    expect(fwd.active()).toBe(1);
    await fwd.stop();
    await waitFor(() => (api.connections.size === 0 ? "gone" : ""), /gone/);
    client.destroy();
  });

  it("dials from a fixed sourcePort when asked, so a test can reuse a port", async () => {
    const port = 20000 + Math.floor(Math.random() * 12000); // below the ephemeral range
    const fixed = await startUserspaceForwarder({ targetPort: origin.port!, localApi: api, peerFor: "100.64.0.2", sourcePort: port });
    forwarders.push(fixed);
    for (let i = 0; i < 2; i++) {
      const seen: Seen = (await curlFrom(null, `http://127.0.0.1:${fixed.port}/`)).json();
      expect(seen).toMatchObject({ port, whois: 200, login: "alice@example.com" });
      await waitFor(() => (fixed.active() === 0 ? "closed" : ""), /closed/);
    }
    expect(fixed.history.map((c) => c.addr)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
  });
});
