/**
 * S in the terminal interface (issue 20, part 1) in a real pseudo-terminal (tmux): it asks
 * which app, makes the share with the same code as POST /api/apps/:name/shares, draws its QR
 * and link, and the link really opens the app (checked over HTTP and through the API).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../../helpers/latchkey.ts'
import { Pane, alive, decodeScreenQr, latchkeyCommand, runtimeInfo, type RuntimeInfo } from './pane.ts'

describe('TUI share (S)', () => {
  const dataDir = tempDir('lk-tui-share-')
  let pane: Pane
  let info: RuntimeInfo

  beforeAll(async () => {
    writeFileSync(join(dataDir, 'latchkey.yaml'), 'apps:\n  - { name: notes, target: "http://127.0.0.1:9" }\n')
    pane = new Pane({ cols: 200, rows: 50 })
    pane.type(`${latchkeyCommand(dataDir, ['--host', '0.0.0.0', '--allowed-origins', '192.168.1.42'])}; echo "exit=$?"`)
    info = await runtimeInfo(dataDir)
    await pane.waitFor(/Recent events[\s\S]*ready dashboard=/)
  })

  afterAll(() => {
    try {
      if (info && alive(info.pid)) process.kill(info.pid, 'SIGKILL')
    } catch {}
    pane?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('names an unknown app and makes no share', async () => {
    pane.keys('s')
    await pane.waitFor(/Share: app \[minutes/)
    pane.type('nope')
    await pane.waitFor(/✗ No app named "nope"/)
    const shares = await (await fetch(`http://127.0.0.1:${info.apiPort}/api/shares`)).json()
    expect(shares.shares).toEqual([])
  })

  it('shares an app view only for the minutes typed, with a QR that decodes to a working link', async () => {
    pane.keys('s')
    await pane.waitFor(/Share: app \[minutes/)
    pane.type('notes 30 v')
    const screen = await pane.waitFor(/Share QR for notes ready/)
    expect(screen).toMatch(/Share link for notes \(anyone with it opens this app only, read only/)
    const url = decodeScreenQr(screen, /Share QR · notes · view only/)
    expect(url).toStartWith(`http://192.168.1.42:${info.dashboardPort}/apps/notes/?latchkey_share=`)
    expect(screen).toContain(url!)

    const [share] = (await (await fetch(`http://127.0.0.1:${info.apiPort}/api/shares`)).json()).shares
    expect(share).toMatchObject({ app: 'notes', viewOnly: true, opened: 0, createdBy: 'local (terminal)' })
    expect(Math.round((Date.parse(share.expiresAt) - Date.parse(share.createdAt)) / 60_000)).toBe(30)

    // The link as a remote device would open it (a proxy header makes loopback remote).
    const link = new URL(url!)
    const res = await fetch(`http://127.0.0.1:${info.dashboardPort}${link.pathname}${link.search}`, { redirect: 'manual', headers: { 'x-forwarded-for': '203.0.113.5', accept: 'text/html' } })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/apps/notes/')
    expect(res.headers.get('set-cookie')).toContain('latchkey_session=')
    const after = (await (await fetch(`http://127.0.0.1:${info.apiPort}/api/shares`)).json()).shares[0]
    expect(after.opened).toBe(1)

    pane.keys('Escape')
    await pane.waitFor(/Share QR hidden/)
  })
})
