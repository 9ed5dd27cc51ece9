/**
 * Screen rows for the TUI: plain rows of exactly the frame's width, and copy runs (a link, a
 * token) that the terminal wraps itself, and the writing of a whole frame.
 *
 * Note: a copy run is written as one string from the first column and the terminal wraps it
 * (autowrap), so it is never cut and a selection or `tmux capture-pane -J` gives it back
 * whole, without the line breaks a hard wrap would put into it.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g

/** Cut or pad plain text to exactly `width` columns. */
export function fit(s: string, width: number): string {
  const text = s.replace(ANSI, '')
  if (width <= 0) return ''
  return text.length > width ? text.slice(0, Math.max(0, width - 1)) + '…' : text.padEnd(width)
}

/** One screen row of exactly the frame's width (it may hold colour codes), or a `copy` run the terminal wraps itself. */
export interface Row {
  text: string
  copy?: boolean
}

/** Screen rows a row takes (a copy run: as many as the terminal wraps it into). */
export const rowCount = (r: Row, width: number) => (r.copy ? Math.max(1, Math.ceil(r.text.length / width)) : 1)
/** Screen rows a list of rows takes. */
export const height = (rows: Row[], width: number) => rows.reduce((n, r) => n + rowCount(r, width), 0)
/** Text cut or padded to a row. */
export const plain = (text: string, width: number): Row => ({ text: fit(text, width) })

/** `── title ──…── right ──`, or a plain rule when the words do not fit. */
export function rule(width: number, title = '', right = ''): Row {
  const l = title ? `── ${title} ` : ''
  const r = right ? ` ${right} ──` : ''
  const fill = width - l.length - r.length
  return { text: fill >= 2 ? l + '─'.repeat(fill) + r : '─'.repeat(width) }
}

/** Wrap prose at spaces to `width`, keeping its indent; a word longer than a line is split. */
export function wrapWords(line: string, width: number): string[] {
  if (line.length <= width || width < 10) return [line]
  const indent = /^ */.exec(line)![0]
  const out: string[] = []
  let cur = ''
  for (const word of line.slice(indent.length).split(' ')) {
    const next = cur ? `${cur} ${word}` : indent + word
    if (next.length <= width) {
      cur = next
      continue
    }
    if (cur) out.push(cur)
    cur = indent + word
    while (cur.length > width) {
      out.push(cur.slice(0, width))
      cur = indent + cur.slice(width)
    }
  }
  if (cur) out.push(cur)
  return out
}

/**
 * Home, then each row in full (fixed width, so nothing stale remains; a copy run is followed
 * by erase-to-end-of-line unless it ends exactly at the margin, where that would erase its
 * last character), then clear the rest. Rows past the screen's height are dropped: one more
 * would scroll the screen.
 */
export function serialize(rows: Row[], width: number, screenHeight: number): string {
  const kept: string[] = []
  let used = 0
  for (const r of rows) {
    const n = rowCount(r, width)
    if (used + n > screenHeight) break
    used += n
    kept.push(r.copy ? r.text + (r.text.length % width ? '\x1b[K' : '') : r.text)
  }
  return '\x1b[H' + kept.map((l) => l + '\x1b[0m').join('\r\n') + '\x1b[J'
}
