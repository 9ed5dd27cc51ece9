/**
 * Sessions across a restart (issue 5, "Devices"): a device signed in with the persistent
 * token stays signed in (its session is stored hashed in the data dir); one signed in with
 * a short-lived token does not, and unused short-lived tokens are gone with the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, type Peer } from '../../helpers/netns.ts'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { cookieOf, local, post } from './lib.ts'

let peer: Peer
let dataDir: string
let lk: Latchkey | undefined
const args = () => ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress]

beforeAll(() => {
  peer = createPeer()
  dataDir = tempDir('lk-restart-')
})
afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('sessions across a restart', () => {
  it('keep persistent-token devices signed in and drop short-lived ones', async () => {
    lk = await startLatchkey({ args: args(), dataDir })
    const base = () => `http://${peer.hostAddress}:${lk!.dashboardPort}`
    const persistent = (await local(lk, '/api/remote/url?tokenType=persistent')).json()
    const durable = cookieOf(await peer.fetch(persistent.url))
    const short = (await local(lk, '/api/remote/token/short-lived/generate', post({}))).json()
    const ephemeral = cookieOf(await peer.fetch(short.url))
    const unused = (await local(lk, '/api/remote/token/short-lived/generate', post({}))).json()
    for (const cookie of [durable, ephemeral]) expect((await peer.fetch(`${base()}/api/remote/status`, { headers: { cookie } })).status).toBe(200)
    expect(await lk.stop()).toBe(0)

    // Stored hashed: neither the cookie secrets nor the tokens are on disk in the clear.
    const stored = readFileSync(join(dataDir, 'sessions.json'), 'utf8')
    expect(JSON.parse(stored)).toHaveLength(1)
    for (const secret of [durable.split('=')[1], ephemeral.split('=')[1], short.token, unused.token]) expect(stored).not.toContain(secret)

    lk = await startLatchkey({ args: args(), dataDir })
    expect((await peer.fetch(`${base()}/api/remote/status`, { headers: { cookie: durable } })).status).toBe(200)
    expect((await peer.fetch(`${base()}/api/remote/status`, { headers: { cookie: ephemeral } })).status).toBe(401)
    const stale = await peer.fetch(`${base()}/remote-login?rt=${unused.token}`, { headers: { accept: 'application/json' } })
    expect(stale.status).toBe(401)
    expect(stale.json().error).toBe('remote_token_invalid')
    // The same persistent link still works after the restart.
    expect((await local(lk, '/api/remote/url?tokenType=persistent')).json().url.split('rt=')[1]).toBe(persistent.url.split('rt=')[1])
    const devices = (await local(lk, '/api/remote/sessions')).json().sessions
    expect(devices.map((d: { issuer: string }) => d.issuer)).toEqual(['persistent'])
  })

  it('drop persistent-token devices at start-up when the token was changed while stopped', async () => {
    await lk!.stop()
    const path = join(dataDir, 'settings.json')
    const settings = JSON.parse(readFileSync(path, 'utf8'))
    settings.remoteAccess.tokenStrategy.persistent.token = 'replaced-by-hand-0123456789'
    await Bun.write(path, JSON.stringify(settings))
    lk = await startLatchkey({ args: args(), dataDir })
    expect((await local(lk, '/api/remote/sessions')).json().sessions).toEqual([])
  })
})
