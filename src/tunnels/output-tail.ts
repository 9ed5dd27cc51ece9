/** Splits a child's output into lines and keeps the last few, for `lastError` (redacted). */
import type { Readable } from 'node:stream'
import { redact } from '../log.ts'

export class OutputTail {
  #lines: { stream: 'stdout' | 'stderr'; text: string }[] = []

  constructor(readonly max = 40) {}

  /** Feed `stream` to `onLine` one line at a time, keeping a copy. */
  follow(source: Readable | null, stream: 'stdout' | 'stderr', onLine: (line: string) => void): void {
    if (!source) return
    let buf = ''
    source.setEncoding('utf8')
    source.on('data', (chunk: string) => {
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i).replace(/\r$/, '')
        buf = buf.slice(i + 1)
        this.#push(stream, line)
        onLine(line)
      }
      // A line that never ends must not grow without bound.
      if (buf.length > 64 * 1024) buf = buf.slice(-64 * 1024)
    })
    source.on('end', () => {
      if (buf) {
        this.#push(stream, buf)
        onLine(buf)
        buf = ''
      }
    })
    source.on('error', () => {})
  }

  #push(stream: 'stdout' | 'stderr', text: string): void {
    if (!text.trim()) return
    this.#lines.push({ stream, text })
    if (this.#lines.length > this.max) this.#lines.shift()
  }

  /** The last `n` lines of stderr (else of stdout), with every secret masked. */
  last(n: number, secrets: Iterable<string>): string | null {
    const err = this.#lines.filter((l) => l.stream === 'stderr')
    const pick = (err.length ? err : this.#lines).slice(-n).map((l) => l.text)
    return pick.length ? redact(pick.join('\n'), secrets) : null
  }
}
