/**
 * The terminal the TUI draws on: alternate screen, hidden cursor, raw keyboard input, its size,
 * and the promise to give it back as it was. `restore()` is synchronous and idempotent; it runs
 * on quit, on process exit, on SIGINT/SIGTERM/SIGHUP and on a crash (uncaughtException,
 * unhandledRejection), and the guardian process covers SIGKILL (./guardian.ts).
 */
import { writeSync } from 'node:fs'
import { LEAVE_SCREEN, savedModes, startGuardian, type Guardian } from './guardian.ts'

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J'

type Stdin = NodeJS.ReadStream & { setRawMode?(raw: boolean): unknown }

/** Write all of `text` to `fd` now (a TTY may be non-blocking: retry on EAGAIN). */
export function writeNow(fd: number, text: string): void {
  let buf = Buffer.from(text, 'utf8')
  for (let tries = 0; buf.length > 0 && tries < 10_000; tries++) {
    try {
      const n = writeSync(fd, buf)
      buf = buf.subarray(n)
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN') return
    }
  }
}

export class Terminal {
  #active = false
  #guardian: Guardian | null = null
  #stdin: Stdin
  #stdout: NodeJS.WriteStream
  #resize = new Set<() => void>()
  #onResize = () => {
    for (const l of this.#resize) l()
  }

  constructor(stdin: NodeJS.ReadStream = process.stdin, stdout: NodeJS.WriteStream = process.stdout) {
    this.#stdin = stdin as Stdin
    this.#stdout = stdout
  }

  get active(): boolean {
    return this.#active
  }

  get columns(): number {
    return this.#stdout.columns || 80
  }

  get rows(): number {
    return this.#stdout.rows || 24
  }

  /** Take over the terminal: guardian first (it records the modes), then raw mode and the alternate screen. */
  enter(onData: (data: string) => void): void {
    if (this.#active) return
    this.#guardian = startGuardian(savedModes())
    this.#active = true
    this.#stdin.setRawMode?.(true)
    this.#stdin.setEncoding('utf8')
    this.#stdin.on('data', onData)
    this.#stdin.resume()
    // Both: Bun and Deno emit 'resize' on stdout and SIGWINCH on process; a redraw is idempotent.
    this.#stdout.on('resize', this.#onResize)
    process.on('SIGWINCH', this.#onResize)
    process.on('exit', this.restore)
    writeNow(1, ENTER_SCREEN)
  }

  onResize(listener: () => void): void {
    this.#resize.add(listener)
  }

  /** Draw one frame (already sized to the terminal). */
  draw(frame: string): void {
    if (this.#active) writeNow(1, frame)
  }

  /** Give the terminal back: normal screen, cursor, cooked mode. Safe to call any number of times. */
  restore = (): void => {
    if (!this.#active) return
    this.#active = false
    try {
      this.#stdin.setRawMode?.(false)
    } catch {}
    try {
      this.#stdin.pause()
    } catch {}
    this.#stdout.off('resize', this.#onResize)
    process.off('SIGWINCH', this.#onResize)
    // Kill the guardian before writing, so the screen is restored exactly once.
    this.#guardian?.release()
    writeNow(1, LEAVE_SCREEN)
  }
}
