/** An admin's pause outlives a restart, for apps from latchkey.yaml as for dashboard apps. */
import { afterAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'

const upstream = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('app says hi') })
let lk: Latchkey | undefined
afterAll(async () => {
  await lk?.stop()
  upstream.stop(true)
})

const post = (path: string) => fetch(lk!.url(path, 'api'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
const appStatus = async () => (await fetch(lk!.url('/apps/notes/'))).status

describe('app pause across restarts', () => {
  it('keeps a latchkey.yaml app paused after a restart, in settings.json, until resumed', async () => {
    const dataDir = tempDir()
    const yaml = `apps:\n  - { name: notes, target: "http://127.0.0.1:${upstream.port}" }\n`
    lk = await startLatchkey({ dataDir, yaml })
    expect(await appStatus()).toBe(200)
    expect((await post('/api/apps/notes/pause')).status).toBe(200)
    expect(await appStatus()).toBe(503)
    expect(JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')).pausedApps).toEqual(['notes'])
    await lk.stop()

    lk = await startLatchkey({ dataDir, yaml })
    expect(await appStatus()).toBe(503)
    expect((await post('/api/apps/notes/resume')).status).toBe(200)
    expect(await appStatus()).toBe(200)
    expect(JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')).pausedApps).toEqual([])
  })
})
