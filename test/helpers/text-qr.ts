/**
 * Read back a QR code drawn as text, the way a person's screen shows it: each character cell
 * becomes two stacked square modules, each lit by the terminal's ink (the glyph) or left at
 * its background (any other glyph, such as text beside the code, is drawn grey: some ink).
 * A viewer theme decides the colours: `dark` draws light ink on a dark
 * background (most terminals and log viewers), `light` dark ink on light. ANSI colour codes
 * (SGR 0, 30–39, 40–49, 90–97, 100–107, 38/48 with 5 or 2), when the text has them, override
 * the theme's ink and background as a terminal would. The image gets a wide margin of the
 * theme's background around it, and jsQR decodes it without trying the reversed image
 * unless asked, so a code that only reads reversed does not pass by accident.
 */
import jsQR from 'jsqr'

export type Theme = 'dark' | 'light'

const BLOCKS = /[▀▄█]/
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[([0-9;]*)m/y

/** Luminance (0 black – 255 white) of a colour as xterm draws it by default. */
const luma = (rgb: number) => Math.round(0.299 * (rgb >> 16) + 0.587 * ((rgb >> 8) & 255) + 0.114 * (rgb & 255))
const ANSI16 = [0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5, 0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff].map(luma)

function cube256(n: number): number {
  if (n < 16) return ANSI16[n]
  if (n >= 232) return 8 + (n - 232) * 10
  const level = (v: number) => (v === 0 ? 0 : 55 + v * 40)
  const i = n - 16
  return luma((level(Math.floor(i / 36)) << 16) | (level(Math.floor(i / 6) % 6) << 8) | level(i % 6))
}

interface Cell {
  ch: string
  fg: number | null
  bg: number | null
}

/**
 * Split a line into cells with the colours in force (null: the theme's default). The colours
 * carry over from line to line, as on a terminal (tmux -e sets them once for a run of lines).
 */
function cells(line: string, pen: { fg: number | null; bg: number | null }): Cell[] {
  const out: Cell[] = []
  let { fg, bg } = pen
  for (let i = 0; i < line.length; ) {
    SGR.lastIndex = i
    const m = SGR.exec(line)
    if (m) {
      const p = m[1] === '' ? [0] : m[1].split(';').map(Number)
      for (let k = 0; k < p.length; k++) {
        const n = p[k]
        if (n === 0) fg = bg = null
        else if (n >= 30 && n <= 37) fg = ANSI16[n - 30]
        else if (n >= 90 && n <= 97) fg = ANSI16[n - 90 + 8]
        else if (n >= 40 && n <= 47) bg = ANSI16[n - 40]
        else if (n >= 100 && n <= 107) bg = ANSI16[n - 100 + 8]
        else if (n === 39) fg = null
        else if (n === 49) bg = null
        else if ((n === 38 || n === 48) && p[k + 1] === 5) {
          if (n === 38) fg = cube256(p[k + 2])
          else bg = cube256(p[k + 2])
          k += 2
        } else if ((n === 38 || n === 48) && p[k + 1] === 2) {
          const v = luma((p[k + 2] << 16) | (p[k + 3] << 8) | p[k + 4])
          if (n === 38) fg = v
          else bg = v
          k += 4
        }
      }
      i += m[0].length
      continue
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!)
    out.push({ ch, fg, bg })
    i += ch.length
  }
  pen.fg = fg
  pen.bg = bg
  return out
}

/** The first run of lines that hold half blocks, from line `from` on: where it starts, and its rows. */
export function qrBlock(lines: string[], from = 0): { start: number; rows: string[] } {
  const start = lines.findIndex((l, i) => i >= from && BLOCKS.test(l))
  if (start === -1) return { start, rows: [] }
  const end = lines.findIndex((l, i) => i > start && !BLOCKS.test(l))
  return { start, rows: lines.slice(start, end === -1 ? undefined : end) }
}

/** Render text rows to a greyscale bitmap as `theme` shows them (see the file comment). */
export function renderTextQr(rows: string[], theme: Theme, scale = 4, pad = 8): { data: Uint8ClampedArray; width: number; height: number } {
  const ink = theme === 'dark' ? 255 : 0
  const paper = 255 - ink
  const pen = { fg: null, bg: null }
  const grid = rows.map((r) => cells(r, pen))
  const cols = Math.max(...grid.map((r) => r.length))
  const width = (cols + 2 * pad) * scale
  const height = (rows.length * 2 + 2 * pad) * scale
  const data = new Uint8ClampedArray(width * height * 4)
  for (let i = 0; i < data.length; i += 4) {
    data[i] = data[i + 1] = data[i + 2] = paper
    data[i + 3] = 255
  }
  const paint = (mx: number, my: number, v: number) => {
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const i = (((my + pad) * scale + dy) * width + (mx + pad) * scale + dx) * 4
        data[i] = data[i + 1] = data[i + 2] = v
      }
    }
  }
  grid.forEach((row, y) =>
    row.forEach((c, x) => {
      const fg = c.fg ?? ink
      const bg = c.bg ?? paper
      // Any other glyph (text beside the code, a rule) is some ink on the background: grey.
      const other = c.ch === ' ' ? bg : Math.round((fg + bg) / 2)
      paint(x, 2 * y, c.ch === '█' || c.ch === '▀' ? fg : c.ch === '▄' ? bg : other)
      paint(x, 2 * y + 1, c.ch === '█' || c.ch === '▄' ? fg : c.ch === '▀' ? bg : other)
    }),
  )
  return { data, width, height }
}

/** Decode text rows as `theme` shows them; `reversed` decodes the reversed image instead. */
export function decodeTextQr(rows: string[], theme: Theme, reversed = false): string | null {
  if (!rows.length) return null
  const { data, width, height } = renderTextQr(rows, theme)
  // Note: jsQR 1.4's 'onlyInvert' fails (it never builds the inverted image): invert here.
  if (reversed) for (let i = 0; i < data.length; i += 4) data[i] = data[i + 1] = data[i + 2] = 255 - data[i]
  return jsQR(data, width, height, { inversionAttempts: 'dontInvert' })?.data ?? null
}
