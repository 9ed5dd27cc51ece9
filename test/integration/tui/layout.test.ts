/**
 * The TUI at the sizes people have (80×24, 110×30), read back from tmux: the access token
 * and the connect link are always on screen and never cut; a link wider than the terminal
 * wraps without a character added inside it; the QR code sits beside the status when it fits
 * and decodes (characters alone, and with their colours on dark and light themes), and F
 * shows it alone when it does not.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { rmSync } from 'node:fs'
import { tempDir } from '../../helpers/latchkey.ts'
import { Pane, alive, decodeScreenQr, latchkeyCommand, runtimeInfo, type RuntimeInfo } from './pane.ts'

// A fixed token as long as a generated one (32 random bytes, base64url), so the link is known.
const TOKEN = 'fake-access-token-for-tests-only-0123456789'
const LONG_HOST = 'my-laptop-with-a-long-name.tail1234abcd.ts.net'

let pane: Pane | null = null
let info: RuntimeInfo | null = null
let dataDir = ''

afterEach(() => {
  try {
    if (info && alive(info.pid)) process.kill(info.pid, 'SIGKILL')
  } catch {}
  pane?.close()
  rmSync(dataDir, { recursive: true, force: true })
  pane = info = null
})

/** latchkey in a cols × rows terminal, connect address `host`; resolves once the access block is drawn. */
async function start(cols: number, rows: number, host = '192.168.1.42'): Promise<{ link: string; screen: string }> {
  dataDir = tempDir('lk-tui-layout-')
  pane = new Pane({ cols, rows, env: { NO_COLOR: '' } })
  pane.type(latchkeyCommand(dataDir, ['--host', '0.0.0.0', '--allowed-origins', host, '--auth-token', TOKEN]))
  info = await runtimeInfo(dataDir)
  // The first frames come before the status is read: wait for it, or for a screen without it.
  await pane.waitFor(/Tunnel +STOPPED|Scan to connect/)
  await Bun.sleep(600)
  return { link: `http://${host}:${info.dashboardPort}/?token=${TOKEN}`, screen: pane.screen() }
}

/** The token stands alone on some line, and the link is whole on one line once tmux joins what the terminal wrapped. */
function expectTokenAndLink(screen: string, link: string): void {
  expect(screen).toMatch(new RegExp(`(^|\\s)${TOKEN}(\\s|$)`, 'm'))
  expect(pane!.screen({ join: true }).split('\n').some((l) => l.split(/\s+/).includes(link))).toBe(true)
}

/** Every line fits the terminal and nothing in the access block is cut (no "…"). */
function expectWholeAccessBlock(screen: string, cols: number): string[] {
  const lines = screen.split('\n')
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(cols)
  const at = lines.findIndex((l) => l.startsWith('── Connect a device '))
  expect(at).toBeGreaterThan(-1)
  const block = lines.slice(at + 1, lines.findIndex((l, i) => i > at && /^─+$/.test(l)))
  expect(block.join('\n')).not.toContain('…')
  expect(block.join('\n')).toMatch(new RegExp(`^Access token +${TOKEN}( |$)`, 'm'))
  return block
}

describe('TUI at 80×24', () => {
  it('shows the access token and the whole connect link, and F shows the QR code that does not fit beside them', async () => {
    const { link, screen } = await start(80, 24)
    expectTokenAndLink(screen, link)
    const block = expectWholeAccessBlock(screen, 80)
    expect(block).toContain(link)
    expect(screen).toMatch(/── Connect a device ─+ F shows the QR code ──/)
    expect(screen).not.toMatch(/[▀▄█]/)
    expect(screen).toContain('Tunnel         STOPPED')

    pane!.keys('f')
    const full = await pane!.waitFor(/Scan to connect \(access token link\) · any key returns/)
    expect(decodeScreenQr(full, /Scan to connect/)).toBe(link)
    const escaped = pane!.screen({ escapes: true })
    expect(decodeScreenQr(full, /Scan to connect/, { escaped, theme: 'light' })).toBe(link)
    // The link is under the code when there is room (here there is).
    expect(full.split('\n')).toContain(link)

    pane!.keys('x')
    const back = await pane!.waitFor(/Access token/)
    expect(back).not.toContain('Tunnel stopped')
    expectWholeAccessBlock(back, 80)
  })

  it('wraps a connect link wider than the terminal at its edge, with no character added inside it', async () => {
    const { link, screen } = await start(80, 24, LONG_HOST)
    expectTokenAndLink(screen, link)
    expect(link.length).toBeGreaterThan(80)
    const lines = screen.split('\n')
    const at = lines.findIndex((l) => l.startsWith('http://'))
    expect(lines[at - 1].trimEnd()).toBe('Connect link (open it on the other device):')
    expect(lines[at].length).toBe(80)
    expect(lines[at] + lines[at + 1].trimEnd()).toBe(link)
    expectWholeAccessBlock(screen, 80)
    // The terminal wrapped it (one run of text): tmux joins it back, as a selection would.
    expect(pane!.screen({ join: true }).split('\n').map((l) => l.trimEnd())).toContain(link)
  })

  it('draws the one-time login QR of K alone when it does not fit beside the status', async () => {
    const { link, screen } = await start(80, 24)
    expectTokenAndLink(screen, link)
    pane!.keys('k')
    const full = await pane!.waitFor(/Login QR · one-time .*any key returns/)
    const decoded = decodeScreenQr(full, /Login QR · one-time/)
    expect(decoded).toMatch(/^http:\/\/192\.168\.1\.42:\d+\/remote-login\?rt=/)
    pane!.keys('Escape')
    const back = await pane!.waitFor(/Login QR hidden/)
    expect(back).not.toContain('Login QR ·')
    expectWholeAccessBlock(back, 80)
  })
})

describe('TUI at 110×30', () => {
  it('shows the QR code beside the status, decodable, with the token and the whole link under them', async () => {
    const { link, screen } = await start(110, 30)
    expectTokenAndLink(screen, link)
    const block = expectWholeAccessBlock(screen, 110)
    expect(block.some((l) => l.trimEnd() === `Connect link  ${link}`)).toBe(true)
    expect(screen).toMatch(/── Connect a device ─+ or scan the QR code ──/)
    expect(decodeScreenQr(screen, /Scan to connect/)).toBe(link)
    const escaped = pane!.screen({ escapes: true })
    expect(decodeScreenQr(screen, /Scan to connect/, { escaped, theme: 'dark' })).toBe(link)
    expect(decodeScreenQr(screen, /Scan to connect/, { escaped, theme: 'light' })).toBe(link)
  })

  it('never cuts a long connect link: it gets a line of its own', async () => {
    const { link, screen } = await start(110, 30, LONG_HOST)
    expectTokenAndLink(screen, link)
    expectWholeAccessBlock(screen, 110)
    expect(screen.split('\n').map((l) => l.trimEnd())).toContain(link)
    expect(pane!.screen({ join: true }).split('\n').map((l) => l.trimEnd())).toContain(link)
  })
})
