/** Raw terminal input → key names: letters, arrows, Enter, Escape, Backspace, Ctrl-C. */

export type Key =
  | { name: 'char'; char: string }
  | { name: 'up' | 'down' | 'left' | 'right' | 'enter' | 'escape' | 'backspace' | 'interrupt' }

const SEQUENCES: Record<string, Key> = {
  '\x1b[A': { name: 'up' },
  '\x1bOA': { name: 'up' },
  '\x1b[B': { name: 'down' },
  '\x1bOB': { name: 'down' },
  '\x1b[C': { name: 'right' },
  '\x1bOC': { name: 'right' },
  '\x1b[D': { name: 'left' },
  '\x1bOD': { name: 'left' },
}

/** Split one chunk of raw input into keys (a paste or fast typing arrives as several keys). */
export function parseKeys(data: string): Key[] {
  const keys: Key[] = []
  let i = 0
  while (i < data.length) {
    const c = data[i]
    if (c === '\x1b') {
      const seq = data.slice(i, i + 3)
      if (SEQUENCES[seq]) {
        keys.push(SEQUENCES[seq])
        i += 3
        continue
      }
      // Another CSI sequence (function keys, focus events): skip it whole.
      const csi = /^\x1b\[[0-9;?]*[ -/]*[@-~]/.exec(data.slice(i))
      if (csi) {
        i += csi[0].length
        continue
      }
      keys.push({ name: 'escape' })
      i++
      continue
    }
    if (c === '\r' || c === '\n') keys.push({ name: 'enter' })
    else if (c === '\x7f' || c === '\b') keys.push({ name: 'backspace' })
    else if (c === '\x03') keys.push({ name: 'interrupt' })
    else if (c >= ' ') keys.push({ name: 'char', char: c })
    i++
  }
  return keys
}
