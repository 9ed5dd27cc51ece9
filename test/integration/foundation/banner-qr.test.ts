/**
 * The QR code of the start banner, read back the way a screen shows it: the printed text is
 * drawn to pixels (half blocks, see test/helpers/text-qr.ts) and decoded with jsQR. Plain
 * output (a pipe, a log, NO_COLOR) must decode from its characters alone, light on dark as
 * terminals and log viewers draw text; a TTY's colour codes must make it decode on dark and
 * light themes alike.
 */
import { describe, expect, it } from 'bun:test'
import { rmSync } from 'node:fs'
import { startLatchkey, tempDir } from '../../helpers/latchkey.ts'
import { decodeTextQr, qrBlock } from '../../helpers/text-qr.ts'
import { Pane, latchkeyCommand } from '../tui/pane.ts'

const LINK = /^\s+(https?:\/\/\S+\?token=\S+)\s*$/

/** The connect link printed in the banner and the QR rows under it. */
function linkAndQr(lines: string[]): { link: string; start: number; rows: string[] } {
  const at = lines.findIndex((l) => LINK.test(l))
  expect(at).toBeGreaterThan(-1)
  return { link: LINK.exec(lines[at])![1], ...qrBlock(lines, at + 1) }
}

/** The rows are a closed rectangle whose quiet zone (4 modules: 4 columns, 2 rows) is drawn. */
function expectDrawnQuietZone(rows: string[]): void {
  expect(rows.length).toBeGreaterThan(10)
  expect(new Set(rows.map((r) => r.length)).size).toBe(1)
  for (const r of [...rows.slice(0, 2), ...rows.slice(-2)]) expect(r).toMatch(/^█+$/)
  for (const r of rows) expect(r).toMatch(/^████.*████$/)
}

describe('banner QR in plain output', () => {
  for (const [name, args] of [
    ['a LAN address', ['--host', '0.0.0.0']],
    ['a long tailnet name (a larger code)', ['--host', '0.0.0.0', '--allowed-origins', 'my-laptop-with-a-long-name.tail1234abcd.ts.net']],
  ] as const) {
    it(`decodes from the printed characters alone to the printed connect link, with ${name}`, async () => {
      const lk = await startLatchkey({ args: [...args] })
      try {
        const out = lk.output()
        expect(out).not.toContain('\x1b')
        const { link, rows } = linkAndQr(out.split('\n'))
        expect(link).toEndWith(`/?token=${lk.token}`)
        // Light on dark (terminals, journalctl, docker logs): a regular code.
        expect(decodeTextQr(rows, 'dark')).toBe(link)
        // Dark on light: the same characters show the code reversed, and only so.
        expect(decodeTextQr(rows, 'light')).toBeNull()
        expect(decodeTextQr(rows, 'light', true)).toBe(link)
        expectDrawnQuietZone(rows)
      } finally {
        await lk.stop()
      }
    })
  }
})

describe('banner QR in a terminal (--no-tui)', () => {
  async function bannerIn(env: Record<string, string>) {
    const dataDir = tempDir('lk-banner-')
    const pane = new Pane({ cols: 120, rows: 70, env })
    try {
      pane.type(latchkeyCommand(dataDir, ['--no-tui', '--host', '0.0.0.0']))
      await pane.waitFor(/INFO +ready dashboard=/)
      const plain = pane.screen().split('\n')
      const escaped = pane.screen({ escapes: true }).split('\n')
      const { link, start, rows } = linkAndQr(plain)
      return { link, rows, colored: escaped.slice(start, start + rows.length) }
    } finally {
      pane.keys('C-c')
      await Bun.sleep(300)
      pane.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }

  it('pins the QR to white on black with colour codes, so it decodes on dark and light themes', async () => {
    const { link, rows, colored } = await bannerIn({ NO_COLOR: '' })
    expectDrawnQuietZone(rows)
    expect(colored[0]).toMatch(/^\x1b\[/)
    expect(decodeTextQr(colored, 'dark')).toBe(link)
    expect(decodeTextQr(colored, 'light')).toBe(link)
    // Without the colours a light theme would show it reversed: the codes are what fix it.
    expect(decodeTextQr(rows, 'light')).toBeNull()
  })

  it('draws the same characters without colour codes under NO_COLOR', async () => {
    const { link, rows, colored } = await bannerIn({ NO_COLOR: '1' })
    expectDrawnQuietZone(rows)
    expect(colored.some((r) => r.includes('\x1b['))).toBe(false)
    expect(decodeTextQr(colored, 'dark')).toBe(link)
  })
})
