/**
 * One frame of the TUI from its state and the terminal size: a pure function, so a redraw on
 * resize is just another call. Top: remote-access status, providers, the banner and recent
 * events, with the QR code beside them when it fits; below them, full width and never cut:
 * the last token or login URL made here and the access token and connect link; bottom: the
 * hotkeys (runbook §4.2) and the message or prompt line. F shows the QR code alone.
 * Lines to copy are drawn whole: see ./rows.ts.
 */
import type { ProviderName } from '../config/settings-schema.ts'
import { qrTerminalLines, qrTerminalSize, type QrMatrix } from '../connect/qr.ts'
import { fit, height, plain, rowCount, rule, serialize, wrapWords, type Row } from './rows.ts'

export interface ProviderRow {
  name: ProviderName
  active: boolean
  /** "ready", or why it cannot start yet. */
  note: string
}

export interface RemoteView {
  enabled: boolean
  state: string
  provider: string | null
  url: string | null
  lastError: string | null
  restore: string | null
  external: string | null
  rememberLastRunning: boolean
}

/** A line of text; `copy` marks a link or a secret, drawn whole from the first column. */
export interface InfoLine {
  text: string
  copy?: boolean
}

/** The start banner's access block: what another device needs. */
export interface ConnectInfo {
  token: string | null
  link: string | null
  /** "The token is shown once…", or why there is no link. */
  note: string | null
}

export interface QrView {
  title: string
  /** The text the code holds (shown under it full-screen, when there is room). */
  payload: string
  matrix: QrMatrix
}

export interface ViewState {
  version: string
  remote: RemoteView | null
  providers: ProviderRow[]
  selected: number
  /** The start banner without its access block and QR (listen addresses, warnings). */
  banner: string[]
  connect: ConnectInfo | null
  /** Lines about the last token or login URL made here (U, L, P). */
  link: InfoLine[]
  qr: QrView | null
  /** F: the QR code alone on the screen, as large as it fits. */
  qrFull: boolean
  /** Colour codes allowed (not NO_COLOR): the QR is pinned to white on black. */
  color: boolean
  events: string[]
  message: { text: string; error: boolean } | null
  /** A line being typed: a TTL in minutes (L), or `app [minutes] [v]` to share an app (S). */
  prompt: { label: string; value: string; kind?: 'share' } | null
  help: boolean
}

export const HOTKEYS: readonly [string, string][] = [
  ['C', 'activate selected provider (↑/↓ select)'],
  ['V', 'start tunnel'],
  ['X', 'stop tunnel'],
  ['P', 'regenerate persistent token'],
  ['L', 'short-lived token (asks for a TTL)'],
  ['U', 'show the authenticated URL'],
  ['K', 'show the QR payload'],
  ['S', 'share one app: a link and QR that open that app only (asks which)'],
  ['F', 'show the QR code full-screen (any key returns)'],
  ['R', 'refresh remote status'],
  ['?', 'help'],
  ['Q', 'quit'],
]

/** The hotkey bar, from the widest form to the narrowest (the title row has Q and ?); the first that fits is drawn. */
const BARS = [
  'C activate  V start  X stop  P new token  L short-lived  U url  K qr  S share app  F full-screen qr  R refresh  ? help  Q quit',
  'C activate  V start  X stop  P new token  L short-lived  U url  K qr  S share  F big qr  R refresh  ? help  Q quit',
  'C activate  V start  X stop  P new token  L short-lived  U url  K qr  S share  F big qr  R refresh',
  'C activate  V start  X stop  P token  L ttl  U url  K qr  S share  F big qr  R refresh',
  'C activate V start X stop P token L ttl U url K qr S share F big qr R refresh',
]

/** The status column needs this many columns beside the QR code, or the code is not drawn beside it. */
const MIN_LEFT = 40

function remoteLines(r: ViewState['remote']): string[] {
  if (!r) return ['Remote access  …']
  const lines = [
    `Remote access  ${r.enabled ? 'enabled' : 'disabled (remoteAccess.enabled is false)'}`,
    `Tunnel         ${r.state.toUpperCase()}${r.provider ? `  ·  ${r.provider}` : ''}`,
    `URL            ${r.url ?? '—'}`,
  ]
  if (r.lastError) lines.push(`Last error     ${r.lastError}`)
  if (r.external) lines.push(`External       ${r.external}`)
  if (r.restore) lines.push(`Restore        ${r.restore}`)
  lines.push(`On quit        ${r.rememberLastRunning ? 'tunnel stops; restarted next time (rememberLastRunning)' : 'tunnel stops'}`)
  return lines
}

/** Banner lines without blank lines at the start or runs of them. */
function squeeze(lines: string[]): string[] {
  const out: string[] = []
  for (const l of lines) if (l.trim() !== '' || (out.length > 0 && out.at(-1)!.trim() !== '')) out.push(l)
  return out
}

function leftLines(s: ViewState, width: number, rows: number): string[] {
  const lines = [...remoteLines(s.remote), '', 'Providers (↑/↓ select, C activate)']
  s.providers.forEach((p, i) => {
    lines.push(`${i === s.selected ? ' > ' : '   '}${p.name.padEnd(11)}${p.active ? 'active · ' : ''}${p.note}`)
  })
  const banner = squeeze(s.banner).flatMap((l) => wrapWords(l, width))
  while (banner.length && banner.at(-1)!.trim() === '') banner.pop()
  if (banner.length) lines.push('', ...banner)
  const room = rows - lines.length - 2
  if (room > 0) {
    lines.push('', 'Recent events')
    lines.push(...(s.events.length ? s.events.slice(-room) : ['(none yet)']))
  }
  return lines
}

/** `Label         value` on one row when it fits (`extra` after it if that fits too), else `Label (use):` and the value on its own rows. */
function labelled(label: string, value: string, width: number, use: string, extra?: string | null): Row[] {
  const one = `${label.padEnd(13)} ${value}`
  if (extra && one.length + 3 + extra.length <= width) return [plain(`${one}   ${extra}`, width)]
  if (one.length <= width) return [plain(one, width)]
  return [plain(`${label} (${use}):`, width), { text: value, copy: true }]
}

type QrHint = 'beside' | 'hidden'

/** The full-width rows under the status: the last token or URL made here, then the access block. */
function lowerRows(s: ViewState, width: number, hint: QrHint): Row[] {
  const rows: Row[] = []
  if (s.link.length) {
    rows.push(rule(width))
    for (const l of s.link) rows.push(l.copy ? { text: l.text, copy: true } : plain(l.text, width))
  }
  const c = s.connect
  if (c && (c.token || c.link)) {
    const right = !s.qr ? '' : hint === 'beside' ? 'or scan the QR code' : 'F shows the QR code'
    rows.push(rule(width, 'Connect a device', right))
    if (c.token) rows.push(...labelled('Access token', c.token, width, 'type it on the other device', c.link ? c.note : null))
    if (c.link) rows.push(...labelled('Connect link', c.link, width, 'open it on the other device'))
    else if (c.note) rows.push(plain(c.note, width))
  }
  return rows
}

interface Layout {
  lower: Row[]
  /** Rows above the lower block. */
  upper: number
  qr: { margin: number; cols: number; rows: number } | null
}

function layout(s: ViewState, width: number, bodyHeight: number): Layout {
  const lowerFor = (hint: QrHint) => {
    let rows = lowerRows(s, width, hint)
    // The access block always stays: the U/L/P lines go first when the screen is too short.
    if (height(rows, width) > bodyHeight && s.link.length) rows = lowerRows({ ...s, link: [] }, width, hint)
    while (rows.length && height(rows, width) > bodyHeight) rows.shift()
    return rows
  }
  const hidden = lowerFor('hidden')
  const upper = bodyHeight - height(hidden, width)
  if (s.qr) {
    for (const margin of [2, 1]) {
      const size = qrTerminalSize(s.qr.matrix, margin)
      // Only the words on the access block's rule differ between the two: same height.
      if (size.rows + 1 <= upper && width - size.cols - 3 >= MIN_LEFT) return { lower: lowerFor('beside'), upper, qr: { margin, ...size } }
    }
  }
  return { lower: hidden, upper, qr: null }
}

/** Whether the QR code is drawn beside the status at this size (else F shows it). */
export function qrFitsBeside(s: ViewState, cols: number, rows: number): boolean {
  return layout(s, Math.max(cols, 20), Math.max(rows, 8) - 5).qr !== null
}

function helpLines(): string[] {
  return ['Hotkeys', '', ...HOTKEYS.map(([k, what]) => `  ${k}  ${what}`), '', 'Ctrl-C quits too. Press any key to close this help.']
}

/** F: the QR code alone, as large a quiet zone as fits, and its text under it when there is room. */
function fullScreenQr(qr: QrView, color: boolean, width: number, rows: number): Row[] {
  const out: Row[] = [plain(` ${qr.title} · any key returns`, width)]
  const text: Row = { text: qr.payload, copy: true }
  const textRows = rowCount(text, width)
  const margins = [4, 3, 2, 1].map((margin) => ({ margin, ...qrTerminalSize(qr.matrix, margin) })).filter((m) => m.cols <= width && 1 + m.rows <= rows)
  const pick = margins.find((m) => 1 + m.rows + 1 + textRows <= rows) ?? margins[0]
  if (!pick) {
    const need = qrTerminalSize(qr.matrix, 1)
    out.push(plain(`The terminal is too small for this QR code: it needs ${need.cols}×${need.rows + 1}. The link:`, width), text)
    return out
  }
  const indent = ' '.repeat(Math.floor((width - pick.cols) / 2))
  for (const line of qrTerminalLines(qr.matrix, { margin: pick.margin, color })) out.push({ text: indent + line + ' '.repeat(width - indent.length - pick.cols) })
  if (1 + pick.rows + 1 + textRows <= rows) out.push(plain('', width), text)
  return out
}

/** The whole screen for a terminal of `cols` × `rows`, cursor home first. */
export function renderFrame(s: ViewState, cols: number, rows: number): string {
  const width = Math.max(cols, 20)
  const screenHeight = Math.max(rows, 8)
  if (s.qrFull && s.qr) return serialize(fullScreenQr(s.qr, s.color, width, screenHeight), width, screenHeight)

  const bodyHeight = screenHeight - 5
  const out: Row[] = []
  const right = 'Q quit  ? help'
  const title = ` latchkey ${s.version} · remote access`
  out.push(plain(title.padEnd(Math.max(0, width - right.length)) + right, width))
  out.push(rule(width))

  if (s.help) {
    const help = helpLines()
    for (let i = 0; i < bodyHeight; i++) out.push(plain(help[i] ?? '', width))
  } else {
    const { lower, upper, qr } = layout(s, width, bodyHeight)
    const leftWidth = qr ? width - qr.cols - 3 : width
    const left = leftLines(s, leftWidth, upper)
    const block = qr ? [fit(s.qr!.title, qr.cols), ...qrTerminalLines(s.qr!.matrix, { margin: qr.margin, color: s.color })] : []
    for (let i = 0; i < upper; i++) {
      let line = fit(left[i] ?? '', leftWidth)
      if (qr) line += ' │ ' + (block[i] ?? ' '.repeat(qr.cols))
      out.push({ text: line })
    }
    out.push(...lower)
  }
  out.push(rule(width))
  out.push(plain(' ' + (BARS.find((b) => b.length < width) ?? BARS.at(-1)!), width))
  const last = s.prompt ? ` ${s.prompt.label} ${s.prompt.value}▏` : s.message ? ` ${s.message.error ? '✗ ' : ''}${s.message.text}` : ''
  out.push(plain(last, width))
  return serialize(out, width, screenHeight)
}
