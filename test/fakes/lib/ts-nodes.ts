// Tailscale node / user-profile / status shapes, facts sections 3.5, 4.2 and 4.3. Only the
// fields the facts list are produced; field order follows the Go structs.
import { createHash } from "node:crypto";

export interface UserProfile { ID: number; LoginName: string; DisplayName: string; ProfilePicURL?: string; Groups?: string[] }

/** What a test says about a peer: a user-owned node (UserProfile) or a tagged node (Tags). */
export interface PeerSpec {
  UserProfile?: Partial<UserProfile>;
  Tags?: string[];
  HostName?: string;
  NodeID?: number;
  CapMap?: Record<string, unknown[]> | null;
  Online?: boolean;
}

export interface Peer { ip: string; spec: PeerSpec; node: Record<string, unknown>; profile: UserProfile }

export const MAGIC_DNS_SUFFIX = "tailnet.ts.net";
// 4.3: the tagged-devices pseudo-user. DisplayName and ID are unverified in the facts file.
export const TAGGED_DISPLAY_NAME = "Tagged Devices";
export const TAGGED_USER_ID = 1000000;

const hex = (seed: string, n: number) => createHash("sha256").update(seed).digest("hex").slice(0, n);
const CREATED = "2026-01-01T00:00:00Z";

export function profileFor(spec: PeerSpec, ip: string): UserProfile {
  if (spec.Tags?.length) {
    // 4.3: a tagged node's User is the pseudo-user whose LoginName is "tagged-devices".
    return { ID: spec.UserProfile?.ID ?? TAGGED_USER_ID, LoginName: "tagged-devices", DisplayName: TAGGED_DISPLAY_NAME };
  }
  const p = spec.UserProfile ?? {};
  const out: UserProfile = {
    ID: p.ID ?? Number.parseInt(hex(`user:${p.LoginName ?? ip}`, 8), 16),
    LoginName: p.LoginName ?? "alice@example.com",
    DisplayName: p.DisplayName ?? "Alice Example",
  };
  if (p.ProfilePicURL) out.ProfilePicURL = p.ProfilePicURL; // omitzero since v1.92 (4.2)
  if (p.Groups?.length) out.Groups = p.Groups;
  return out;
}

/** tailcfg.Node as in a WhoIs response (4.2). */
export function nodeFor(ip: string, spec: PeerSpec, profile: UserProfile): Record<string, unknown> {
  const host = spec.HostName ?? `peer-${ip.replace(/[.:]/g, "-")}`;
  const id = spec.NodeID ?? Number.parseInt(hex(`node:${ip}`, 8), 16);
  const bits = ip.includes(":") ? 128 : 32;
  const node: Record<string, unknown> = {
    ID: id,
    StableID: `n${hex(`stable:${ip}`, 12)}CNTRL`,
    Name: `${host}.${MAGIC_DNS_SUFFIX}.`, // FQDN with trailing dot
    User: profile.ID,
    Key: `nodekey:${hex(`key:${ip}`, 64)}`,
    KeyExpiry: "2027-01-01T00:00:00Z",
    Machine: `mkey:${hex(`machine:${ip}`, 64)}`,
    DiscoKey: `discokey:${hex(`disco:${ip}`, 64)}`,
    Addresses: [`${ip}/${bits}`],
    AllowedIPs: [`${ip}/${bits}`],
    HomeDERP: 1,
    Hostinfo: { OS: "linux", Hostname: host },
    Created: CREATED,
    Cap: 130,
  };
  if (spec.Tags?.length) node.Tags = spec.Tags;
  node.Online = spec.Online ?? true;
  node.MachineAuthorized = true;
  node.ComputedName = host;
  node.ComputedNameWithHost = host;
  return node;
}

export function makePeer(ip: string, spec: PeerSpec): Peer {
  const profile = profileFor(spec, ip);
  return { ip, spec, profile, node: nodeFor(ip, spec, profile) };
}

/** ipnstate.PeerStatus (3.5). */
export function peerStatus(p: Peer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const host = String((p.node.Hostinfo as { Hostname: string }).Hostname);
  const out: Record<string, unknown> = {
    ID: p.node.StableID,
    NodeID: p.node.ID,
    PublicKey: p.node.Key,
    HostName: host,
    DNSName: p.node.Name,
    OS: "linux",
    UserID: p.profile.ID,
    TailscaleIPs: [p.ip],
    AllowedIPs: p.node.AllowedIPs,
  };
  if (p.spec.Tags?.length) out.Tags = p.spec.Tags;
  Object.assign(out, { Online: p.node.Online, Active: false, ...extra, KeyExpiry: p.node.KeyExpiry });
  return out;
}

export interface StatusInput {
  version: string;
  backendState: string; // NoState | NeedsLogin | NeedsMachineAuth | Stopped | Starting | Running
  self: Peer;
  peers: Peer[];
  includePeers: boolean;
  authURL?: string;
}

/** ipnstate.Status (3.5). CurrentTailnet is null unless Running; Self is always present. */
export function buildStatus(s: StatusInput): Record<string, unknown> {
  const running = s.backendState === "Running";
  const dnsName = String(s.self.node.Name).replace(/\.$/, "");
  const users: Record<string, UserProfile> = {};
  for (const p of [s.self, ...s.peers]) users[String(p.profile.ID)] = p.profile;
  const status: Record<string, unknown> = {
    Version: s.version,
    TUN: true,
    BackendState: s.backendState,
    HaveNodeKey: true,
    AuthURL: s.authURL ?? "",
    TailscaleIPs: running ? [s.self.ip] : null,
    Self: running
      ? peerStatus(s.self, { Online: true, Capabilities: ["funnel", "https"], CapMap: { funnel: null, https: null } })
      : { ID: "", PublicKey: "nodekey:0000000000000000000000000000000000000000000000000000000000000000", HostName: "", DNSName: "", OS: "", UserID: 0, TailscaleIPs: null, AllowedIPs: null, Online: false, Active: false, KeyExpiry: null },
    Health: [],
    MagicDNSSuffix: MAGIC_DNS_SUFFIX,
    CurrentTailnet: running ? { Name: "example.com", MagicDNSSuffix: MAGIC_DNS_SUFFIX, MagicDNSEnabled: true } : null,
    CertDomains: running ? [dnsName] : null,
  };
  if (s.includePeers) {
    const peers: Record<string, unknown> = {};
    for (const p of s.peers) peers[String(p.node.Key)] = peerStatus(p);
    status.Peer = peers;
  }
  status.User = running ? users : null;
  status.ClientVersion = null;
  return status;
}
