/**
 * The shape of settings.json (what latchkey writes), with the runbook's defaults.
 * `remoteAccess` keeps the runbook's field names exactly (tunnels-and-login-tokens-runbook §2.1).
 */
import { Type as t, type Static } from '@sinclair/typebox'

const Port = t.Integer({ minimum: 1, maximum: 65535, error: 'must be a port number 1-65535' })
const Hostname = t.String({ maxLength: 253, pattern: '^$|^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$', error: 'must be a hostname such as box.tailnet.ts.net' })
const HttpUrl = t.String({ maxLength: 2048, pattern: '^$|^https?://[^\\s/?#]+(/[^\\s?#]*)?$', error: 'must be an http:// or https:// URL' })

export const TailscaleProvider = t.Object(
  {
    enabled: t.Boolean({ default: false }),
    hostname: t.String({ ...Hostname, default: '' }),
    targetPort: t.Union([Port, t.Null()], { default: null, error: 'must be a port number 1-65535 or null' }),
    acceptRoutes: t.Boolean({ default: false }),
    /** Beyond the runbook: `serve` keeps the tunnel on the tailnet; `funnel` makes it public. */
    mode: t.Union([t.Literal('funnel'), t.Literal('serve')], { default: 'funnel', error: 'must be funnel or serve' }),
  },
  { additionalProperties: false, default: {} },
)

export const CloudflareProvider = t.Object(
  {
    enabled: t.Boolean({ default: false }),
    quickTunnel: t.Boolean({ default: false }),
    tunnelName: t.String({ maxLength: 200, pattern: '^$|^[A-Za-z0-9][A-Za-z0-9._-]*$', default: '', error: 'must be a tunnel name (letters, digits, . _ -)' }),
    tunnelToken: t.Union([t.String({ maxLength: 4096 }), t.Null()], { default: null }),
    ingressUrl: t.String({ ...HttpUrl, default: '' }),
  },
  { additionalProperties: false, default: {} },
)

export const TokenStrategy = t.Object(
  {
    persistent: t.Object(
      {
        enabled: t.Boolean({ default: true }),
        token: t.Union([t.String({ minLength: 16, maxLength: 512 }), t.Null()], { default: null }),
      },
      { additionalProperties: false, default: {} },
    ),
    shortLived: t.Object(
      {
        enabled: t.Boolean({ default: true }),
        ttlMs: t.Integer({ minimum: 1000, maximum: 30 * 86400000, default: 900000, error: 'must be a number of milliseconds (>= 1000)' }),
        maxTtlMs: t.Integer({ minimum: 1000, maximum: 30 * 86400000, default: 86400000, error: 'must be a number of milliseconds (>= 1000)' }),
        /** Beyond the runbook: how long a device signed in with a short-lived link stays signed in. */
        sessionMaxAgeMs: t.Integer({ minimum: 60000, maximum: 30 * 86400000, default: 43200000, error: 'must be a number of milliseconds (>= 60000)' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
)

export const Lifecycle = t.Object(
  {
    rememberLastRunning: t.Boolean({ default: false }),
    wasRunningOnShutdown: t.Boolean({ default: false }),
    lastRunningProvider: t.Union([t.Literal('tailscale'), t.Literal('cloudflare'), t.Null()], { default: null }),
    /** Beyond the runbook: restart a tunnel that exits unexpectedly, with backoff. */
    autoRestart: t.Boolean({ default: false }),
  },
  { additionalProperties: false, default: {} },
)

export const RemoteAccess = t.Object(
  {
    enabled: t.Boolean({ default: false }),
    activeProvider: t.Union([t.Literal('tailscale'), t.Literal('cloudflare'), t.Null()], { default: null, error: 'must be tailscale, cloudflare or null' }),
    providers: t.Object(
      { tailscale: TailscaleProvider, cloudflare: CloudflareProvider },
      { additionalProperties: false, default: {} },
    ),
    tokenStrategy: TokenStrategy,
    lifecycle: Lifecycle,
  },
  { additionalProperties: false, default: {} },
)

export const StoredApp = t.Object(
  {
    name: t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    target: HttpUrl,
    port: t.Optional(Port),
    path: t.Optional(t.String({ pattern: '^/apps/[a-z0-9][a-z0-9-]*$' })),
    role: t.Union([t.Literal('viewer'), t.Literal('admin')], { default: 'viewer' }),
    identityHeaders: t.Boolean({ default: false }),
    timeout: t.Optional(t.Integer({ minimum: 1, maximum: 3600 })),
    paused: t.Boolean({ default: false }),
  },
  { additionalProperties: false },
)

export const Preferences = t.Object(
  {
    theme: t.Union([t.Literal('system'), t.Literal('light'), t.Literal('dark')], { default: 'system' }),
    layout: t.Union([t.Literal('list'), t.Literal('grid')], { default: 'list' }),
    sort: t.Union([t.Literal('name'), t.Literal('status'), t.Literal('recent')], { default: 'name' }),
    pinnedApps: t.Array(t.String({ maxLength: 63 }), { maxItems: 100, default: [] }),
    filter: t.String({ maxLength: 200, default: '' }),
  },
  { additionalProperties: false, default: {} },
)

export const SettingsSchema = t.Object(
  {
    version: t.Literal(1, { default: 1 }),
    remoteAccess: RemoteAccess,
    apps: t.Array(StoredApp, { default: [], maxItems: 200 }),
    /** latchkey.yaml / --app apps an admin paused (latchkey never writes latchkey.yaml). */
    pausedApps: t.Array(t.String({ maxLength: 63 }), { default: [], maxItems: 200 }),
    /** Per-identity preferences, keyed by identity (e.g. "tailscale:123", "local", "session:<id>"). */
    preferences: t.Record(t.String({ maxLength: 200 }), Preferences, { default: {} }),
    /** When a device first signed in (ISO time): until then, the local admin lands on Connect. */
    firstSignInAt: t.Union([t.String({ maxLength: 40 }), t.Null()], { default: null }),
  },
  { additionalProperties: false, default: {} },
)

export type Settings = Static<typeof SettingsSchema>
export type RemoteAccessSettings = Static<typeof RemoteAccess>
export type ProviderName = 'tailscale' | 'cloudflare'
