/**
 * One frame of the TUI from its state and the terminal size: a pure function, so a redraw on
 * resize is just another call. Left: remote-access status, providers, the banner, the last
 * login link and recent events; right (when it fits): the QR code; bottom: the hotkeys
 * (runbook §4.2) and the message or prompt line.
 */
import type { ProviderName } from '../config/settings-schema.ts'

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

export interface ViewState {
  version: string
  remote: RemoteView | null
  providers: ProviderRow[]
  selected: number
  /** The start banner without its QR (listen addresses, token, connect link). */
  banner: string[]
  /** Lines about the last token or login URL made here (U, L, P). */
  link: string[]
  qr: { title: string; lines: string[] } | null
  events: string[]
  message: { text: string; error: boolean } | null
  prompt: { label: string; value: string } | null
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
  ['R', 'refresh remote status'],
  ['?', 'help'],
  ['Q', 'quit'],
]

const BAR = 'C activate  V start  X stop  P new token  L short-lived  U url  K qr  R refresh  ? help  Q quit'

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g

/** Columns a string takes on screen (escape sequences take none). */
export const visibleWidth = (s: string) => s.replace(ANSI, '').length

/** Cut or pad plain text to exactly `width` columns. */
export function fit(s: string, width: number): string {
  const plain = s.replace(ANSI, '')
  if (width <= 0) return ''
  return plain.length > width ? plain.slice(0, Math.max(0, width - 1)) + '…' : plain.padEnd(width)
}

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

/** Hard-wrap a line (a login URL must stay whole on screen, so it can be copied). */
function wrap(line: string, width: number): string[] {
  if (line.length <= width || width < 10) return [line]
  const out: string[] = []
  for (let i = 0; i < line.length; i += width) out.push(line.slice(i, i + width))
  return out
}

/** Banner lines without runs of blank lines (its QR lines went to the QR panel). */
const squeeze = (lines: string[]) => lines.filter((l, i) => l.trim() !== '' || (i > 0 && lines[i - 1].trim() !== ''))

function leftLines(s: ViewState, width: number, height: number): string[] {
  const lines = [...remoteLines(s.remote), '', 'Providers (↑/↓ select, C activate)']
  s.providers.forEach((p, i) => {
    lines.push(`${i === s.selected ? ' > ' : '   '}${p.name.padEnd(11)}${p.active ? 'active · ' : ''}${p.note}`)
  })
  lines.push('', ...squeeze(s.banner))
  if (s.link.length) lines.push('', ...s.link.flatMap((l) => wrap(l, width)))
  const room = height - lines.length - 2
  if (room > 0) {
    lines.push('', 'Recent events')
    lines.push(...(s.events.length ? s.events.slice(-room) : ['(none yet)']))
  }
  return lines
}

function helpLines(): string[] {
  return ['Hotkeys', '', ...HOTKEYS.map(([k, what]) => `  ${k}  ${what}`), '', 'Ctrl-C quits too. Press any key to close this help.']
}

/** The whole screen for a terminal of `cols` × `rows`, cursor home first. */
export function renderFrame(s: ViewState, cols: number, rows: number): string {
  const width = Math.max(cols, 20)
  const height = Math.max(rows, 8)
  const bodyHeight = height - 5
  const out: string[] = []
  const right = 'Q quit  ? help'
  const title = ` latchkey ${s.version} · remote access`
  out.push(fit(title.padEnd(Math.max(0, width - right.length)) + right, width))
  out.push('─'.repeat(width))

  const qr = s.qr
  const qrWidth = qr ? Math.max(visibleWidth(qr.title), ...qr.lines.map(visibleWidth)) : 0
  const qrBeside = !!qr && qr.lines.length + 1 <= bodyHeight && width - qrWidth - 3 >= 50
  let body: string[]
  if (s.help) body = helpLines().map((l) => fit(l, width))
  else if (qr && !qrBeside) {
    body = [fit(`${qr.title}  (the terminal is too small to show it beside the status: any key returns)`, width)]
    if (qr.lines.length + 1 <= bodyHeight && qrWidth <= width) body.push(...qr.lines.map((l) => l + ' '.repeat(width - visibleWidth(l))))
    else body.push(fit('Enlarge the terminal to see the QR code.', width))
  } else {
    const leftWidth = qrBeside ? width - qrWidth - 3 : width
    const left = leftLines(s, leftWidth, bodyHeight)
    const block = qrBeside ? [fit(qr!.title, qrWidth), ...qr!.lines] : []
    body = []
    for (let i = 0; i < bodyHeight; i++) {
      let line = fit(left[i] ?? '', leftWidth)
      if (qrBeside) {
        const q = block[i] ?? ''
        line += ' │ ' + q + ' '.repeat(Math.max(0, qrWidth - visibleWidth(q)))
      }
      body.push(line)
    }
  }
  while (body.length < bodyHeight) body.push(' '.repeat(width))
  out.push(...body.slice(0, bodyHeight))
  out.push('─'.repeat(width))
  out.push(fit(' ' + BAR, width))
  const last = s.prompt ? ` ${s.prompt.label} ${s.prompt.value}▏` : s.message ? ` ${s.message.error ? '✗ ' : ''}${s.message.text}` : ''
  out.push(fit(last, width))
  // Home, then each row in full (fixed width, so nothing stale remains), then clear the rest.
  return '\x1b[H' + out.map((l) => l + '\x1b[0m').join('\r\n') + '\x1b[J'
}
