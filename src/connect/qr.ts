/**
 * QR codes of a link: for the terminal, as SVG for the dashboard, and as PNG.
 * Note: the qrcode package's Node entry loads its PNG encoder (pngjs, node:http) up front,
 * about 100 ms of start-up; the core and the SVG renderer are imported alone, and the PNG
 * renderer only when a PNG is asked for.
 */
// @ts-expect-error: deep imports of qrcode's CommonJS modules have no type declarations
import { create } from 'qrcode/lib/core/qrcode.js'
// @ts-expect-error: see above
import { render as renderSvg } from 'qrcode/lib/renderer/svg-tag.js'

type Level = 'L' | 'M'
const matrix = (text: string, level: Level) => create(text, { errorCorrectionLevel: level })

/** The modules of a QR code, `size` × `size`, row by row; 1 is dark. */
export interface QrMatrix {
  size: number
  data: Uint8Array
}

/** The smallest QR code of `text` (error correction L: a screen is not a scratched label). */
export function qrMatrix(text: string): QrMatrix {
  const { modules } = matrix(text, 'L')
  return { size: modules.size, data: modules.data }
}

export interface TerminalQrOptions {
  /** Quiet zone in modules on each side (ISO/IEC 18004 asks for 4); default 4. */
  margin?: number
  /** Pin the colours with ANSI codes (for a TTY); default false. */
  color?: boolean
}

/** Light ink on a black background: bright white (97) on black (40), as `qrencode -t ANSIUTF8` does. */
const COLOR_ON = '\x1b[40;97m'
const COLOR_OFF = '\x1b[0m'

/** Columns and rows `qrTerminalLines` takes for a matrix and a margin. */
export function qrTerminalSize(m: QrMatrix, margin: number): { cols: number; rows: number } {
  const side = m.size + 2 * margin
  return { cols: side, rows: Math.ceil(side / 2) }
}

/**
 * A QR code drawn with half blocks, two modules per character stacked, one row per line.
 * The characters draw the LIGHT modules: '█' light above and below, '▀' light above, '▄'
 * light below, ' ' dark above and below. The quiet zone is drawn too, as '█', so the block
 * is a closed rectangle whatever surrounds it (a half row left over at the bottom is light:
 * one more row of quiet zone). This is the convention of `qrencode -t UTF8` (libqrencode,
 * qrenc.c, writeUTF8): text drawn light on dark — most terminals, `journalctl`,
 * `docker logs`, CI logs — shows a regular dark-on-light code. A viewer that draws dark text
 * on light shows the same text reversed (light modules in a dark frame), which the QR
 * standard allows (reflectance reversal) but not every phone scanner reads. With
 * `color`, each line pins the ink to bright white and the background to black, so a TTY
 * shows it the regular way on any theme; without the codes the characters are the same.
 */
export function qrTerminalLines(m: QrMatrix, opts: TerminalQrOptions = {}): string[] {
  const margin = opts.margin ?? 4
  const { cols, rows } = qrTerminalSize(m, margin)
  const light = (x: number, y: number) => x < 0 || y < 0 || x >= m.size || y >= m.size || !m.data[y * m.size + x]
  const lines: string[] = []
  for (let r = 0; r < rows; r++) {
    let line = ''
    for (let c = 0; c < cols; c++) {
      const x = c - margin
      const y = 2 * r - margin
      const top = light(x, y)
      const bottom = light(x, y + 1)
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' '
    }
    lines.push(opts.color ? COLOR_ON + line + COLOR_OFF : line)
  }
  return lines
}

/** A QR code of `text` for a terminal or a log (see `qrTerminalLines`), one string. */
export async function qrTerminal(text: string, opts: TerminalQrOptions = {}): Promise<string> {
  return qrTerminalLines(qrMatrix(text), opts).join('\n')
}

export async function qrSvg(text: string): Promise<string> {
  return renderSvg(matrix(text, 'M'), { margin: 2, color: { dark: '#000000', light: '#ffffff' } })
}

export async function qrPng(text: string): Promise<Uint8Array<ArrayBuffer>> {
  // @ts-expect-error: see above
  const png = await import('qrcode/lib/renderer/png.js')
  const buffer: Uint8Array = await new Promise((resolve, reject) =>
    png.renderToBuffer(matrix(text, 'M'), { margin: 2, scale: 8 }, (err: Error | null, buf: Uint8Array) => (err ? reject(err) : resolve(buf))),
  )
  return new Uint8Array(buffer)
}
