import { describe, expect, it } from 'bun:test'
import { checkSettings } from '../../../src/config/settings-store.ts'
import { cloudflareNamedPlan } from '../../../src/tunnels/cloudflare-named.ts'
import { cloudflareQuickPlan } from '../../../src/tunnels/cloudflare-quick.ts'
import { tailscalePlan } from '../../../src/tunnels/tailscale-tunnel.ts'

const remote = (ra: unknown) => checkSettings({ remoteAccess: ra }).settings!.remoteAccess
// A token shaped like cloudflared's (base64 JSON), built here so no token-like literal is committed.
const TOKEN = btoa(JSON.stringify({ a: 'a', t: 't', s: 's' }))

describe('cloudflare quick plan', () => {
  const plan = cloudflareQuickPlan({ remote: remote({}), executable: '/x/cloudflared', ingressPort: 4100 })
  it('puts the tunnel flags before --url and points at the ingress on 127.0.0.1', () => {
    expect(plan.args).toEqual(['tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:0', '--url', 'http://127.0.0.1:4100'])
  })
  it('reads the URL from the banner line, not from the pre-checks box', () => {
    expect(plan.parse('2026-01-01T00:00:00Z INF |  CONNECTIVITY PRE-CHECKS  |', 'stderr')).toBeNull()
    expect(plan.parse('2026-01-01T00:00:00Z INF |  https://a-b-c-d.trycloudflare.com          |', 'stderr')).toEqual({ url: 'https://a-b-c-d.trycloudflare.com' })
  })
  it('is ready at the first registered connection, and reads JSON log lines too', () => {
    expect(plan.parse('2026-01-01T00:00:00Z INF Registered tunnel connection connIndex=0 event=0', 'stderr')).toEqual({ ready: true })
    expect(plan.parse('{"level":"info","message":"Starting metrics server on 127.0.0.1:20241/metrics"}', 'stderr')).toEqual({ metricsAddr: '127.0.0.1:20241' })
  })
})

describe('cloudflare named plan', () => {
  const plan = cloudflareNamedPlan({
    remote: remote({ providers: { cloudflare: { enabled: true, tunnelName: 'home', tunnelToken: TOKEN, ingressUrl: 'https://lk.example.com/' } } }),
    executable: '/x/cloudflared',
    ingressPort: 4200,
  })
  it('keeps the token out of argv and in TUNNEL_TOKEN, with tunnel flags before run', () => {
    expect(plan.args).toEqual(['tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:0', 'run', '--url', 'http://127.0.0.1:4200', 'home'])
    expect(plan.args.join(' ')).not.toContain(TOKEN)
    expect(plan.env).toEqual({ TUNNEL_TOKEN: TOKEN })
    expect(plan.secrets).toEqual([TOKEN])
  })
  it('uses ingressUrl as the URL', () => {
    expect(plan.knownUrl).toBe('https://lk.example.com')
  })
})

describe('tailscale plan', () => {
  const ra = remote({ providers: { tailscale: { enabled: true, hostname: 'box.tailnet.ts.net', targetPort: 4040 } } })
  it('runs funnel on the ingress port, with --socket before the subcommand when set', () => {
    expect(tailscalePlan({ remote: ra, executable: '/x/tailscale', ingressPort: 4040 }).args).toEqual(['funnel', '4040'])
    expect(tailscalePlan({ remote: ra, executable: '/x/tailscale', ingressPort: 4040 }, { socket: '/s.sock' }).args).toEqual(['--socket=/s.sock', 'funnel', '4040'])
  })
  it('takes the URL the CLI prints and is ready at "Press Ctrl+C to exit."', () => {
    const plan = tailscalePlan({ remote: ra, executable: '/x/tailscale', ingressPort: 4040 })
    const out = ['Available on the internet:', '', 'https://box.tailnet.ts.net:8443/', '|-- proxy http://127.0.0.1:4040', '', 'Press Ctrl+C to exit.']
    const events = out.map((l) => plan.parse(l, 'stdout')).filter(Boolean)
    expect(events).toEqual([{ url: 'https://box.tailnet.ts.net:8443' }, { ready: true, url: 'https://box.tailnet.ts.net' }])
  })
  it('ignores the funnel enablement link', () => {
    const plan = tailscalePlan({ remote: ra, executable: '/x/tailscale', ingressPort: 4040 })
    expect(plan.parse('         https://login.tailscale.com/f/funnel?node=n1', 'stdout')).toBeNull()
  })
})
