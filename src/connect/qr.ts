/** QR codes of a link: for the terminal, as SVG for the dashboard, and as PNG. */
import QRCode from 'qrcode'

/** A QR drawn with half-block characters, scannable from a terminal (even over SSH). */
export async function qrTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'L' })
}

export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', margin: 2, errorCorrectionLevel: 'M', color: { dark: '#000000', light: '#ffffff' } })
}

export async function qrPng(text: string): Promise<Uint8Array> {
  const dataUrl = await QRCode.toDataURL(text, { type: 'image/png', margin: 2, scale: 8, errorCorrectionLevel: 'M' })
  return Uint8Array.from(atob(dataUrl.slice(dataUrl.indexOf(',') + 1)), (c) => c.charCodeAt(0))
}
