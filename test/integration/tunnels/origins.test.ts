/** A running tunnel's public origin passes CORS and the same-origin rule while it runs, only then; the Cloudflare ingress port can be fixed. */
import { afterAll, describe, expect, it } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { freePort } from '../../../scripts/bench/lib.ts'

const FAST = { FAKE_CLOUDFLARED_READY_DELAY_MS: '100', FAKE_CLOUDFLARED_REGISTER_DELAY_MS: '50', FAKE_CLOUDFLARED_SHUTDOWN_MS: '50' }
let lk: Latchkey | undefined
afterAll(() => lk?.stop())

const status = async () => (await fetch(lk!.url('/api/remote/status', 'api'))).json()
const until = async (pred: (s: any) => boolean) => {
  for (let i = 0; i < 200; i++) {
    const s = await status()
    if (pred(s)) return s
    await Bun.sleep(50)
  }
  throw new Error('timed out')
}
const post = (path: string) => fetch(lk!.url(path, 'api'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })

describe('tunnel origins and the Cloudflare ingress port', () => {
  it('listens on the fixed Cloudflare ingress port and allows the tunnel origin only while it runs', async () => {
    const dataDir = tempDir()
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ remoteAccess: { enabled: true, activeProvider: 'cloudflare', providers: { cloudflare: { enabled: true, quickTunnel: true } } } }))
    const cfi = await freePort()
    lk = await startLatchkey({ dataDir, args: ['--cloudflare-ingress-port', String(cfi)], env: FAST })
    expect(lk.cloudflareIngressPort).toBe(cfi)
    expect((await fetch(`http://127.0.0.1:${cfi}/api/access`)).status).toBe(401)

    expect((await post('/api/remote/tunnel/start')).status).toBe(202)
    const running = await until((s) => s.state === 'running')
    const origin = new URL(running.url).origin
    const allowed = await fetch(lk.url('/api/health', 'api'), { headers: { origin } })
    expect(allowed.headers.get('access-control-allow-origin')).toBe(origin)

    expect((await post('/api/remote/tunnel/stop')).status).toBe(200)
    await until((s) => s.state === 'stopped')
    const after = await fetch(lk.url('/api/health', 'api'), { headers: { origin } })
    expect(after.headers.get('access-control-allow-origin')).toBeNull()
  })
})
