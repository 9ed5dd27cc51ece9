/**
 * GET/PUT /api/preferences: each identity (the local user, each device session from a
 * namespace peer) reads and writes only its own preferences, stored in settings.json under
 * `preferences[<identity>]`; a bad field is a 400 naming it and writes nothing; an anonymous
 * remote caller gets 401; preferences survive a restart; ended sessions' entries are dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createPeer, type Peer, type PeerRequest } from '../../helpers/netns.ts'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'

const DEFAULTS = { theme: 'system', layout: 'list', sort: 'name', pinnedApps: [], filter: '' }
let peer: Peer
let lk: Latchkey
let base: string
const dataDir = tempDir('lk-prefs-')

const put = (body: unknown, headers: Record<string, string> = {}): PeerRequest => ({ method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
const local = (method: string, body?: unknown) =>
  fetch(lk.url('/api/preferences'), { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
const stored = () => JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')).preferences as Record<string, any>

async function viewer(): Promise<string> {
  const gen = await (await fetch(lk.url('/api/remote/token/short-lived/generate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'viewer' }) })).json()
  const res = await peer.fetch(gen.url)
  expect(res.status).toBe(302)
  return /latchkey_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0]
}
const start = () => startLatchkey({ dataDir, args: ['--host', '0.0.0.0', '--allowed-origins', peer.hostAddress] })

beforeAll(async () => {
  peer = createPeer()
  lk = await start()
  base = `http://${peer.hostAddress}:${lk.dashboardPort}`
})
afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('/api/preferences', () => {
  let alice = ''
  let bob = ''

  it('starts at the defaults, and saves the local user\'s changes under "local"', async () => {
    const first = await local('GET')
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({ identity: 'local', preferences: DEFAULTS })
    const res = await local('PUT', { theme: 'dark', pinnedApps: ['grafana', 'notebook'] })
    expect(res.status).toBe(200)
    expect((await res.json()).preferences).toEqual({ ...DEFAULTS, theme: 'dark', pinnedApps: ['grafana', 'notebook'] })
    expect(stored().local).toMatchObject({ theme: 'dark', pinnedApps: ['grafana', 'notebook'] })
  })

  it('gives each viewer session its own preferences, invisible to the others', async () => {
    alice = await viewer()
    bob = await viewer()
    const a0 = await peer.fetch(`${base}/api/preferences`, { headers: { cookie: alice } })
    expect(a0.status).toBe(200)
    expect(a0.json().preferences).toEqual(DEFAULTS)
    expect(a0.json().identity).toStartWith('session:')

    const a1 = await peer.fetch(`${base}/api/preferences`, put({ layout: 'grid', sort: 'recent', filter: 'db' }, { cookie: alice }))
    expect(a1.status).toBe(200)
    expect(a1.json().preferences).toEqual({ ...DEFAULTS, layout: 'grid', sort: 'recent', filter: 'db' })

    const b = (await peer.fetch(`${base}/api/preferences`, { headers: { cookie: bob } })).json()
    expect(b.preferences).toEqual(DEFAULTS)
    expect(b.identity).not.toBe(a0.json().identity)
    expect((await (await local('GET')).json()).preferences).toMatchObject({ theme: 'dark', layout: 'list', filter: '' })
    expect(stored()[a0.json().identity]).toMatchObject({ layout: 'grid', filter: 'db' })
  })

  it('is a partial update: fields not sent keep their value', async () => {
    const res = await peer.fetch(`${base}/api/preferences`, put({ theme: 'light' }, { cookie: alice }))
    expect(res.json().preferences).toEqual({ ...DEFAULTS, theme: 'light', layout: 'grid', sort: 'recent', filter: 'db' })
  })

  it.each([
    [{ theme: 'neon-pink' }, 'theme'],
    [{ layout: 'carousel' }, 'layout'],
    [{ sort: 42 }, 'sort'],
    [{ pinnedApps: 'grafana' }, 'pinnedApps'],
    [{ pinnedApps: Array.from({ length: 101 }, (_, i) => `a${i}`) }, 'pinnedApps'],
    [{ filter: 'x'.repeat(201) }, 'filter'],
    [{ identity: 'local', theme: 'dark' }, 'identity'],
    [{ theme: 'dark', owner: 'local' }, 'owner'],
  ])('answers 400 naming the field for %j, changing nothing', async (body, field) => {
    const before = readFileSync(join(dataDir, 'settings.json'), 'utf8')
    const res = await peer.fetch(`${base}/api/preferences`, put(body, { cookie: bob }))
    expect(res.status).toBe(400)
    expect(res.json()).toMatchObject({ error: 'invalid_request', field })
    expect(res.body).not.toContain('neon-pink')
    expect(res.body).not.toContain('carousel')
    expect(readFileSync(join(dataDir, 'settings.json'), 'utf8')).toBe(before)
  })

  it('answers 400 for a body that is not an object', async () => {
    const res = await local('PUT', ['dark'])
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ field: 'body' })
  })

  it('answers 401 to an anonymous remote caller, for reading and writing', async () => {
    expect((await peer.fetch(`${base}/api/preferences`)).status).toBe(401)
    const res = await peer.fetch(`${base}/api/preferences`, put({ theme: 'dark' }))
    expect(res.status).toBe(401)
  })

  it('drops the entry of a session that ended, at the next write', async () => {
    const aliceKey = (await peer.fetch(`${base}/api/preferences`, { headers: { cookie: alice } })).json().identity
    expect(stored()[aliceKey]).toBeDefined()
    const out = await peer.fetch(`${base}/api/session/logout`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: alice }, body: '{}' })
    expect(out.status).toBe(200)
    await local('PUT', { sort: 'status' })
    expect(stored()[aliceKey]).toBeUndefined()
    expect(stored().local).toMatchObject({ theme: 'dark', sort: 'status' })
  })

  it('keeps preferences across a restart', async () => {
    await lk.stop()
    lk = await start()
    expect((await (await local('GET')).json()).preferences).toEqual({ ...DEFAULTS, theme: 'dark', sort: 'status', pinnedApps: ['grafana', 'notebook'] })
  })
})
