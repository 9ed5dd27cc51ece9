/**
 * renderFrame at every size from 20×8 to 200×50, played on a small VT model (autowrap with
 * the pending-wrap column, CR, LF, EL, ED, cursor home): a frame never scrolls the screen,
 * and where the access block fits, the token and the whole link are on it; a link wider than
 * the screen is one wrapped run (joined back as a terminal's selection would).
 */
import { describe, expect, it } from 'bun:test'
import { qrMatrix } from '../../../src/connect/qr.ts'
import { qrFitsBeside, renderFrame, type ViewState } from '../../../src/tui/view.ts'

const TOKEN = 'fake-access-token-for-tests-only-0123456789'
const SHORT = `http://192.168.1.42:3000/?token=${TOKEN}`
const LONG = `http://my-laptop-with-a-long-name.tail1234abcd.ts.net:43210/?token=${TOKEN}`

function state(link: string, extra: Partial<ViewState> = {}): ViewState {
  return {
    version: '0.1.0',
    remote: { enabled: true, state: 'stopped', provider: 'cloudflare', url: null, lastError: null, restore: null, external: null, rememberLastRunning: false },
    providers: [
      { name: 'cloudflare', active: true, note: 'ready (quick tunnel)' },
      { name: 'tailscale', active: false, note: 'ready' },
    ],
    selected: 0,
    banner: ['  dashboard  http://127.0.0.1:3000/', '  api        http://127.0.0.1:8000/api', '  data       /home/me/.latchkey', ''],
    connect: { token: TOKEN, link, note: 'The token is shown once — re-run to rotate it.' },
    link: [],
    qr: { title: 'Scan to connect (access token link)', payload: link, matrix: qrMatrix(link) },
    qrFull: false,
    color: true,
    events: ['12:00:00 INFO  ready dashboard=3000 api=8000'],
    message: null,
    prompt: null,
    help: false,
    ...extra,
  }
}

/** Play a frame on a cols × rows screen; the rows, which of them wrapped into the next, and whether it scrolled. */
function play(frame: string, cols: number, rows: number) {
  const grid = Array.from({ length: rows }, () => Array<string>(cols).fill(' '))
  const wrapped = Array<boolean>(rows).fill(false)
  let x = 0
  let y = 0
  let pending = false
  let scrolled = false
  const down = () => {
    if (y === rows - 1) scrolled = true
    else y++
  }
  for (let i = 0; i < frame.length; ) {
    // eslint-disable-next-line no-control-regex
    const esc = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(frame.slice(i, i + 32))
    if (esc) {
      i += esc[0].length
      if (esc[2] === 'H') [x, y, pending] = [0, 0, false]
      else if (esc[2] === 'K') grid[y].fill(' ', x)
      else if (esc[2] === 'J') {
        grid[y].fill(' ', x)
        for (let r = y + 1; r < rows; r++) grid[r].fill(' ')
      }
      continue
    }
    const ch = String.fromCodePoint(frame.codePointAt(i)!)
    i += ch.length
    if (ch === '\r') [x, pending] = [0, false]
    else if (ch === '\n') {
      pending = false
      wrapped[y] = false
      down()
    } else {
      if (pending) {
        wrapped[y] = true
        x = 0
        pending = false
        down()
      }
      grid[y][x] = ch
      if (x === cols - 1) pending = true
      else x++
    }
  }
  const lines = grid.map((r) => r.join(''))
  const joined: string[] = []
  lines.forEach((l, r) => (r > 0 && wrapped[r - 1] ? (joined[joined.length - 1] += l) : joined.push(l)))
  return { lines, joined: joined.map((l) => l.trimEnd()), scrolled }
}

const SIZES = [20, 40, 60, 80, 100, 110, 160, 200].flatMap((cols) => [8, 12, 16, 24, 30, 50].map((rows) => [cols, rows] as const))

describe('renderFrame', () => {
  for (const [name, s] of [
    ['the status', state(SHORT)],
    ['a long link', state(LONG)],
    ['a login URL made with U', state(LONG, { link: [{ text: 'Authenticated URL (a secret: do not share it):' }, { text: `https://a-b-c-d.trycloudflare.com/remote-login?rt=${TOKEN}`, copy: true }, { text: '  short-lived' }] })],
    ['the help', state(SHORT, { help: true })],
    ['the QR alone (F)', state(LONG, { qrFull: true })],
  ] as const) {
    it(`never scrolls the screen, at any size, showing ${name}`, () => {
      for (const [cols, rows] of SIZES) {
        const { scrolled } = play(renderFrame(s, cols, rows), cols, rows)
        expect({ cols, rows, scrolled }).toEqual({ cols, rows, scrolled: false })
      }
    })
  }

  it('shows the token and the whole link wherever the access block fits (40×16 and larger)', () => {
    for (const link of [SHORT, LONG]) {
      for (const [cols, rows] of SIZES.filter(([c, r]) => c >= 40 && r >= 16)) {
        const { joined } = play(renderFrame(state(link), cols, rows), cols, rows)
        const words = joined.flatMap((l) => l.split(/\s+/))
        expect({ cols, rows, token: words.includes(TOKEN), link: words.includes(link) }).toEqual({ cols, rows, token: true, link: true })
      }
    }
  })

  it('writes a link wider than the screen as one run the terminal wraps, its last character kept', () => {
    const { lines, joined } = play(renderFrame(state(LONG), 80, 24), 80, 24)
    const at = lines.findIndex((l) => l.startsWith('http://'))
    expect(lines[at]).toBe(LONG.slice(0, 80))
    expect(lines[at + 1].trimEnd()).toBe(LONG.slice(80))
    expect(joined).toContain(LONG)
    // Exactly as wide as the screen: no erase after it (it would take the last character).
    const exact = `http://host-${'x'.repeat(80 - 'http://host-'.length - `:3000/?token=${TOKEN}`.length)}:3000/?token=${TOKEN}`
    expect(exact.length % 80).toBe(0)
    expect(play(renderFrame(state(exact), 80, 24), 80, 24).joined).toContain(exact)
  })

  it('draws the QR beside the status at 110×30, not at 80×24 (F shows it there)', () => {
    expect(qrFitsBeside(state(SHORT), 110, 30)).toBe(true)
    expect(qrFitsBeside(state(SHORT), 80, 24)).toBe(false)
    expect(play(renderFrame(state(SHORT), 80, 24), 80, 24).lines.join('\n')).toMatch(/F shows the QR code/)
  })
})
