/**
 * QR codes of a link: for the terminal, as SVG for the dashboard, and as PNG.
 * Note: the qrcode package's Node entry loads its PNG encoder (pngjs, node:http) up front,
 * about 100 ms of start-up; the core and the text renderers are imported alone, and the PNG
 * renderer only when a PNG is asked for.
 */
// @ts-expect-error: deep imports of qrcode's CommonJS modules have no type declarations
import { create } from 'qrcode/lib/core/qrcode.js'
// @ts-expect-error: see above
import { render as renderSvg } from 'qrcode/lib/renderer/svg-tag.js'
// @ts-expect-error: see above
import { render as renderSmallTerminal } from 'qrcode/lib/renderer/terminal/terminal-small.js'

type Level = 'L' | 'M'
const matrix = (text: string, level: Level) => create(text, { errorCorrectionLevel: level })

/** A QR drawn with half-block characters, scannable from a terminal (even over SSH). */
export async function qrTerminal(text: string): Promise<string> {
  return renderSmallTerminal(matrix(text, 'L'), { small: true })
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
