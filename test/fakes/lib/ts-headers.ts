// Header rewriting of tailscaled's serve/funnel reverse proxy, facts section 5.
import type { ForwardContext } from "./forwarder.ts";

const IDENTITY = [
  "tailscale-user-login", "tailscale-user-name", "tailscale-user-profile-pic",
  "tailscale-funnel-request", "tailscale-headers-info", "tailscale-app-capabilities",
];

/** RFC 2047 Q-encoding for values with non-ASCII, like Go's mime.QEncoding.Encode("utf-8", s). */
export function qEncode(value: string): string {
  if (!/[^\x00-\x7f]/.test(value)) return value;
  let out = "";
  for (const b of new TextEncoder().encode(value)) {
    const ch = String.fromCharCode(b);
    if (b === 0x20) out += "_";
    else if (b > 0x20 && b < 0x7f && !"=?_".includes(ch)) out += ch;
    else out += `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `=?utf-8?q?${out}?=`;
}

export interface ServeHeaderOptions {
  publicHost: string; // incoming Host, e.g. host.tailnet.ts.net or host.tailnet.ts.net:8443
  https: boolean;
  funnel: boolean;
}

/**
 * Test hook (not a Tailscale header): `Fake-Tailscale-Source: tailnet` on a request to a funnel
 * listener makes it a tailnet request; it is removed before forwarding.
 */
export function serveRewrite(opts: ServeHeaderOptions) {
  const env = process.env;
  return ({ headers }: ForwardContext): void => {
    const source = headers.get("fake-tailscale-source");
    headers.delete("fake-tailscale-source");
    // Go's ReverseProxy drops client Forwarded / X-Forwarded-*; tailscaled drops identity headers.
    for (const name of [...headers.keys()]) {
      if (name === "forwarded" || name.startsWith("x-forwarded-") || IDENTITY.includes(name)) headers.delete(name);
    }
    headers.set("host", opts.publicHost); // r.Out.Host = r.In.Host
    headers.set("x-forwarded-host", opts.publicHost);
    if (opts.https) headers.set("x-forwarded-proto", "https"); // only for TLS listeners
    headers.set("x-forwarded-for", env.FAKE_TAILSCALE_CLIENT_IP || "100.101.102.103");
    if (opts.funnel && source !== "tailnet") {
      headers.set("tailscale-funnel-request", "?1"); // funnel: no user headers at all
      return;
    }
    if (env.FAKE_TAILSCALE_TAGGED === "1") return; // tagged node: no identity headers
    headers.set("tailscale-user-login", qEncode(env.FAKE_TAILSCALE_USER_LOGIN ?? "alice@example.com"));
    headers.set("tailscale-user-name", qEncode(env.FAKE_TAILSCALE_USER_NAME ?? "Alice Example"));
    headers.set("tailscale-user-profile-pic", env.FAKE_TAILSCALE_USER_PIC ?? ""); // sent even when empty
    headers.set("tailscale-headers-info", "https://tailscale.com/s/serve-headers");
  };
}
