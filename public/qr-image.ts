/**
 * A QR code drawn in the browser from the exact text shown beside it (so the picture and the
 * link can never disagree), as an SVG blob URL: allowed by the CSP's img-src blob:, no
 * innerHTML involved.
 */
import QRCode from 'qrcode'

let previous: string | null = null

export async function showQr(img: HTMLImageElement, text: string): Promise<void> {
  const svg = await QRCode.toString(text, { type: 'svg', margin: 2, errorCorrectionLevel: 'M', color: { dark: '#000000', light: '#ffffff' } })
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }))
  await new Promise<void>((resolve) => {
    img.addEventListener('load', () => resolve(), { once: true })
    img.addEventListener('error', () => resolve(), { once: true })
    img.src = url
  })
  if (previous) URL.revokeObjectURL(previous)
  previous = url
}
