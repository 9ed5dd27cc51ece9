/**
 * Reloading latchkey.yaml in a running latchkey (issue 20, part 3), end to end: latchkey runs
 * as a child process (the compiled binary with LATCHKEY_TEST_BINARY) and every check is a real
 * request, most from a network-namespace peer. Each reloadable key takes effect through one of
 * the three triggers (a file edit, SIGHUP, `latchkey reload`; the last one is shown with a
 * rotated apiKeyFile, which the config watcher cannot see, so the command is what reloads); an open WebSocket, a streaming
 * response and a signed-in device survive; a host or port change is reported as needing a
 * restart while the rest applies; a broken file is refused with its line and column and
 * changes nothing; each reload is one log line and shows in GET /api/remote/status.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { spawn } from 'node:child_process'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT, startLatchkey, tempDir, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, curlFrom, type Peer } from '../../helpers/netns.ts'
import { startUpstream, type Upstream } from '../apps/upstream.ts'
import { execIn } from '../apps/peer-tools.ts'
import { startReceiver, type Receiver } from '../webhooks/receiver.ts'

setDefaultTimeout(30_000)

const KEY_ONE = 'reload-key-one-5b1e0c7d9a2f4e6b'
const KEY_TWO = 'reload-key-two-8c3d1f0a7e5b2c9d'
const KEY_THREE = 'reload-key-three-1a2b3c4d5e6f7a8b'
const KEY_FOUR = 'reload-key-four-9f8e7d6c5b4a3f2e'
const HOLD = join(import.meta.dir, 'ws-hold.ts')

let up: Upstream
let rx: Receiver
let peer: Peer
let lk: Latchkey
let dash: string
/** The API key file, outside the data folder (so the config watcher never sees it change). */
let keyFile: string

const app = (name: string, extra = '') => `  - { name: ${name}, target: "${up.url}", port: 0${extra} }`

/** latchkey.yaml as the tests write it: host in the file (so a change to it can be reported). */
function yaml(o: { key?: string; apps?: string[]; more?: string[] } = {}): string {
  return ['host: 0.0.0.0', `apiKey: ${o.key ?? KEY_TWO}`, 'apps:', ...(o.apps ?? [app('stay')]), ...(o.more ?? []), ''].join('\n')
}

/** Save the file the way many editors do: a new file renamed over the old one. */
function save(text: string): void {
  const tmp = join(lk.dataDir, '.latchkey.yaml.tmp')
  writeFileSync(tmp, text)
  renameSync(tmp, join(lk.dataDir, 'latchkey.yaml'))
}

const reloadLines = () => lk.output().match(/^.*config reload.*$/gm) ?? []

/** Wait for reload number `n` (counted from the start) to be logged; returns its log line. */
async function reloadNumber(n: number): Promise<string> {
  const end = Date.now() + 10_000
  while (Date.now() < end) {
    const lines = reloadLines()
    if (lines.length >= n) return lines[n - 1]
    await Bun.sleep(25)
  }
  throw new Error(`no reload #${n}; log:\n${lk.output()}`)
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const status = async (key: string) => (await curlFrom(null, lk.url('/api/remote/status'), { headers: bearer(key) })).json().reload

async function appPortOf(name: string, key: string): Promise<number> {
  const body = (await curlFrom(null, lk.url('/api/apps'), { headers: bearer(key) })).json()
  const found = body.apps.find((a: any) => a.name === name)
  if (!found?.listener?.listening) throw new Error(`app ${name} is not listening: ${JSON.stringify(body)}`)
  return found.listener.port
}

/** `latchkey reload --data-dir …`, as the same binary or source latchkey runs from. */
function cliReload(): Promise<{ code: number; stdout: string; stderr: string }> {
  const binary = process.env.LATCHKEY_TEST_BINARY
  const cmd = binary ? [binary] : [BUN, join(ROOT, 'src', 'main.ts')]
  return new Promise((resolve) => {
    const child = spawn(cmd[0], [...cmd.slice(1), 'reload', '--data-dir', lk.dataDir], { env: { PATH: process.env.PATH!, HOME: process.env.HOME! } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

beforeAll(async () => {
  up = startUpstream()
  rx = await startReceiver()
  peer = createPeer()
  // --host is deliberately not a flag: the file's host is what a reload compares.
  lk = await startLatchkey({ yaml: ['host: 0.0.0.0', `apiKey: ${KEY_ONE}`, 'appTimeoutMs: 60000', 'apps:', app('stay'), app('leave'), ''].join('\n') })
  dash = `http://${peer.hostAddress}:${lk.dashboardPort}`
  keyFile = join(tempDir('lk-reload-key-'), 'api-key')
})

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await up?.stop()
  await rx?.close()
})

describe('reloading latchkey.yaml', () => {
  it('a file edit: the new API key admits and the old one is refused', async () => {
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_ONE) })).status).toBe(200)
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_TWO) })).status).toBe(401)
    save(['host: 0.0.0.0', `apiKey: ${KEY_TWO}`, 'appTimeoutMs: 60000', 'apps:', app('stay'), app('leave'), ''].join('\n'))
    expect(await reloadNumber(1)).toMatch(/INFO\s+config reloaded trigger=file applied=apiKey$/)
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_TWO) })).status).toBe(200)
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_ONE) })).status).toBe(401)
    const r = await status(KEY_TWO)
    expect(r).toMatchObject({ ok: true, trigger: 'file', applied: ['apiKey'], needsRestart: [], error: null, position: null })
    expect(Date.parse(r.at)).toBeGreaterThan(Date.now() - 60_000)
    // Neither key is ever written to the log.
    expect(lk.output()).not.toContain(KEY_ONE)
    expect(lk.output()).not.toContain(KEY_TWO)
  })

  it('SIGHUP: an added app answers on its port, a removed app\'s port closes, and an open WebSocket, a stream and a signed-in device carry on', async () => {
    const stayPort = await appPortOf('stay', KEY_TWO)
    const leavePort = await appPortOf('leave', KEY_TWO)
    expect((await peer.fetch(`http://${peer.hostAddress}:${leavePort}/x`, { headers: bearer(KEY_TWO) })).status).toBe(200)

    // A device signs in with the access token (a session cookie), before the reload.
    const token = lk.output().match(/must enter this token:\n\s+(\S+)/)![1]
    const signIn = await peer.fetch(`${dash}/?token=${token}`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect(signIn.status).toBe(302)
    const cookie = /latchkey_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')![0]

    // An open WebSocket and a streaming response through the app that stays.
    const ws = spawn('ip', ['netns', 'exec', peer.ns, BUN, HOLD, `ws://${peer.hostAddress}:${stayPort}/ws`, KEY_TWO], { stdio: ['pipe', 'pipe', 'pipe'] })
    let wsOut = ''
    ws.stdout.on('data', (d) => (wsOut += d))
    const wsDone = new Promise((r) => ws.on('close', r))
    const events: string[] = []
    const stream = execIn(peer.ns, ['curl', '-sS', '-N', '--max-time', '20', '-H', `Authorization: Bearer ${KEY_TWO}`, `http://${peer.hostAddress}:${stayPort}/sse?n=12&gap=250`], {
      onLine: (line) => void (line.startsWith('data:') && events.push(line)),
    })
    for (const end = Date.now() + 10_000; !(wsOut.includes('echo:before') && events.length >= 2) && Date.now() < end; ) await Bun.sleep(25)
    expect(wsOut).toContain('echo:before')

    // An app added from the dashboard (settings.json) lives beside the file's apps.
    const added = await curlFrom(null, lk.url('/api/apps'), { method: 'POST', headers: { ...bearer(KEY_TWO), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'dash', target: up.url }) })
    expect(added.status).toBe(201)

    const before = reloadLines().length
    writeFileSync(join(lk.dataDir, 'latchkey.yaml'), yaml({ apps: [app('stay'), app('fresh')], more: ['appTimeoutMs: 60000'] }))
    process.kill(lk.proc.pid!, 'SIGHUP')
    expect(await reloadNumber(before + 1)).toMatch(/INFO\s+config reloaded trigger=signal applied=apps$/)
    expect(events.length).toBeLessThan(12)

    const freshPort = await appPortOf('fresh', KEY_TWO)
    const res = await peer.fetch(`http://${peer.hostAddress}:${freshPort}/hello`, { headers: bearer(KEY_TWO) })
    expect(res.status).toBe(200)
    expect(res.json().path).toBe('/hello')
    await expect(peer.fetch(`http://${peer.hostAddress}:${leavePort}/x`, { headers: bearer(KEY_TWO), timeoutMs: 3000 })).rejects.toThrow(/\(7\)/)
    const listed = (await curlFrom(null, lk.url('/api/apps'), { headers: bearer(KEY_TWO) })).json().apps.map((a: any) => [a.name, a.source])
    expect(listed.sort()).toEqual([['dash', 'dashboard'], ['fresh', 'config'], ['stay', 'config']])
    expect((await peer.fetch(`${dash}/apps/dash/x`, { headers: bearer(KEY_TWO) })).status).toBe(200)

    ws.stdin.write('again\n')
    await wsDone
    expect(wsOut.split('\n').filter(Boolean).map((l) => JSON.parse(l))).toEqual([{ open: true }, { text: 'echo:before' }, { text: 'echo:after' }])
    const streamed = await stream
    expect(streamed.status).toBe(0)
    expect(events).toEqual(Array.from({ length: 12 }, (_, i) => `data: event ${i}`))

    const me = (await peer.fetch(`${dash}/api/whoami`, { headers: { cookie } })).json()
    expect(me).toMatchObject({ method: 'session', role: 'admin' })
  })

  it('SIGHUP: allowed origins, trusted proxies, webhooks, the app timeout and apiKeyFile apply', async () => {
    const origin = 'https://phone.example:8443'
    const corsBefore = await peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/api/remote/status`, { headers: { ...bearer(KEY_TWO), origin } })
    expect(corsBefore.headers.get('access-control-allow-origin')).toBeNull()
    expect((await curlFrom(null, lk.url('/api/whoami'))).json()).toMatchObject({ local: true })
    expect((await curlFrom(null, lk.url('/api/webhooks/test'), { method: 'POST', headers: { ...bearer(KEY_TWO), 'content-type': 'application/json' }, body: '{}' })).status).toBe(409)

    // The API key moves to a file outside the data folder (same key): `latchkey reload` rotates it below.
    writeFileSync(keyFile, KEY_TWO + '\n', { mode: 0o600 })
    const before = reloadLines().length
    writeFileSync(join(lk.dataDir, 'latchkey.yaml'), yaml({
      apps: [app('stay'), app('fresh')],
      more: [`allowedOrigins: ["${origin}"]`, 'trustedProxies: [127.0.0.1]', 'appTimeoutMs: 1000', 'webhooks:', `  - url: ${rx.url}`],
    }).replace(`apiKey: ${KEY_TWO}`, `apiKeyFile: ${keyFile}`))
    process.kill(lk.proc.pid!, 'SIGHUP')
    const line = await reloadNumber(before + 1)
    expect(line).toMatch(/INFO\s+config reloaded trigger=signal applied=\S+$/)
    expect(line.split('applied=')[1].split(',').sort()).toEqual(['allowedOrigins', 'apiKeyFile', 'appTimeoutMs', 'trustedProxies', 'webhooks'])

    const cors = await peer.fetch(`http://${peer.hostAddress}:${lk.apiPort}/api/remote/status`, { headers: { ...bearer(KEY_TWO), origin } })
    expect(cors.headers.get('access-control-allow-origin')).toBe(origin)
    // 127.0.0.1 is now a trusted proxy: a loopback request is the client it names, never the local user.
    const proxied = (await curlFrom(null, lk.url('/api/whoami'), { headers: { 'x-forwarded-for': '10.9.8.7' } })).json()
    expect(proxied).toMatchObject({ local: false, address: '10.9.8.7' })
    expect((await curlFrom(null, lk.url('/api/whoami'))).json()).toMatchObject({ local: false })

    const sent = await curlFrom(null, lk.url('/api/webhooks/test'), { method: 'POST', headers: { ...bearer(KEY_TWO), 'content-type': 'application/json' }, body: '{}' })
    expect(sent.status).toBe(202)
    const [got] = await rx.waitFor(1)
    expect(got.headers['x-latchkey-event']).toBe('webhook.test')

    // appTimeoutMs 60000 → 1000: a silent app now gets a 502 long before curl gives up.
    const stayPort = await appPortOf('stay', KEY_TWO)
    const hang = await peer.fetch(`http://${peer.hostAddress}:${stayPort}/hang`, { headers: bearer(KEY_TWO), timeoutMs: 15_000 })
    expect(hang.status).toBe(502)
  })

  it('`latchkey reload`: a rotated apiKeyFile admits its new key and refuses the old one', async () => {
    writeFileSync(keyFile, KEY_THREE + '\n')
    const cli = await cliReload()
    expect(cli.stderr).toBe('')
    expect(cli.code).toBe(0)
    expect(cli.stdout).toMatch(/^Reloaded the configuration of latchkey \(pid \d+\)\nApplied: apiKeyFile\n$/)
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_THREE) })).status).toBe(200)
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_TWO) })).status).toBe(401)
    expect(await status(KEY_THREE)).toMatchObject({ ok: true, trigger: 'signal', applied: ['apiKeyFile'] })
    expect(lk.output()).not.toContain(KEY_THREE)
  })

  it('a host or port change is reported as needing a restart, by name, and the rest applies', async () => {
    const before = reloadLines().length
    // `port` is a flag here (--port 0): the flag keeps its precedence, so the file's change is no change.
    writeFileSync(join(lk.dataDir, 'latchkey.yaml'), yaml({
      apps: [app('stay'), app('fresh')],
      more: ['port: 4321', 'tunnels:', '  cloudflareIngressPort: 8787', 'admins: ["12345"]', 'appTimeoutMs: 1000', 'webhooks:', `  - url: ${rx.url}`],
    }).replace('host: 0.0.0.0', 'host: 127.0.0.1').replace(`apiKey: ${KEY_TWO}`, `apiKeyFile: ${keyFile}`))
    process.kill(lk.proc.pid!, 'SIGHUP')
    const line = await reloadNumber(before + 1)
    expect(line).toMatch(/WARN\s+config reloaded; some changes need a restart trigger=signal applied=\S+ needsRestart=host,tunnels\.cloudflareIngressPort$/)
    const r = await status(KEY_THREE)
    expect(r.needsRestart).toEqual(['host', 'tunnels.cloudflareIngressPort'])
    expect(r.applied.sort()).toEqual(['admins', 'allowedOrigins', 'trustedProxies'])
    // Still listening where it was: the peer reaches it on 0.0.0.0.
    expect((await peer.fetch(`${dash}/api/health`)).status).toBe(200)
    // admins applied: the local user is no longer admin without adminAllowLocalhost.
    const refused = await curlFrom(null, lk.url('/api/webhooks'))
    expect(refused.status).toBe(403)
    expect(refused.json().message).toContain('admins is set in latchkey.yaml')
  })

  it('a broken file is refused with its line and column, and nothing changes', async () => {
    let before = reloadLines().length
    const good = yaml({ apps: [app('stay'), app('fresh')], more: ['appTimeoutMs: 1000', 'webhooks:', `  - url: ${rx.url}`] }).replace(`apiKey: ${KEY_TWO}`, `apiKeyFile: ${keyFile}`)
    // YAML syntax (an unclosed flow sequence) with a new key: `latchkey reload` says why, exit 2.
    writeFileSync(join(lk.dataDir, 'latchkey.yaml'), good.replace(`apiKeyFile: ${keyFile}`, `apiKey: ${KEY_FOUR}`) + 'allowedOrigins: [a.example\n')
    const cli = await cliReload()
    expect(cli.code).toBe(2)
    expect(cli.stdout).toBe('')
    expect(cli.stderr).toMatch(/^latchkey: Reload refused, nothing changed: Cannot read .*latchkey\.yaml: line \d+, column \d+: invalid YAML/)
    expect(await reloadNumber(before + 1)).toMatch(/WARN\s+config reload refused: nothing changed trigger=(signal|file) error="Cannot read .*latchkey\.yaml: line \d+, column \d+: invalid YAML/)
    let r = await status(KEY_THREE)
    expect(r).toMatchObject({ ok: false, trigger: 'signal', applied: [], needsRestart: [] })
    expect(r.position).toMatchObject({ path: join(lk.dataDir, 'latchkey.yaml') })
    expect(r.position.line).toBeGreaterThan(0)
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_FOUR) })).status).toBe(401)

    // A bad value, through the file watcher: the line and column of the value.
    before = reloadLines().length
    const lines = good.replace(`apiKeyFile: ${keyFile}`, `apiKey: ${KEY_FOUR}`).split('\n')
    lines.splice(2, 0, 'webhookRetryMs: -5')
    save(lines.join('\n'))
    expect(await reloadNumber(before + 1)).toContain('line 3, column 17: \\"webhookRetryMs\\" must be a whole number of milliseconds')
    r = await status(KEY_THREE)
    expect(r).toMatchObject({ ok: false, trigger: 'file', position: { line: 3, column: 17 } })
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_FOUR) })).status).toBe(401)
    expect((await peer.fetch(`${dash}/api/webhooks`, { headers: bearer(KEY_THREE) })).status).toBe(200)
    expect(lk.output()).not.toContain(KEY_FOUR)
  })

  it('logs one line per reload, also when nothing changed', async () => {
    const before = reloadLines().length
    process.kill(lk.proc.pid!, 'SIGHUP')
    await reloadNumber(before + 1)
    await Bun.sleep(500)
    expect(reloadLines().length).toBe(before + 1)
    expect(reloadLines().at(-1)).toMatch(/WARN\s+config reload refused: nothing changed trigger=signal /)
    // Every reload so far was one line of one of the three forms.
    for (const l of reloadLines()) expect(l).toMatch(/ (INFO|WARN) {1,2}config (reloaded|reloaded; some changes need a restart|reload refused: nothing changed) trigger=(file|signal) /)
  })
})
