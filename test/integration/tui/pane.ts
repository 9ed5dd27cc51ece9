/**
 * A real pseudo-terminal for the TUI tests: a private tmux server (its own -L socket) with one
 * fixed-size window running `bash --norc`, driven with send-keys and read with capture-pane.
 * Also: latchkey's pid and ports from <dataDir>/runtime.json, and a decoder for the QR codes
 * the TUI draws (half blocks → bitmap → jsQR, test/helpers/text-qr.ts).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, FAKES_BIN, ROOT } from '../../helpers/latchkey.ts'
import { decodeTextQr, type Theme } from '../../helpers/text-qr.ts'

let counter = 0

export interface PaneOptions {
  cols?: number
  rows?: number
  env?: Record<string, string>
}

export class Pane {
  readonly socket = `lk-tui-${process.pid}-${counter++}`
  readonly target = 'lk:0.0'

  constructor(opts: PaneOptions = {}) {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('LATCHKEY_') && !k.startsWith('TMUX')) env[k] = v
    Object.assign(env, { PATH: `${FAKES_BIN}:${process.env.PATH}`, PS1: 'lk-test$ ', HISTFILE: '/dev/null', ...opts.env })
    this.#run(['-f', '/dev/null', 'new-session', '-d', '-s', 'lk', '-x', String(opts.cols ?? 200), '-y', String(opts.rows ?? 50), 'bash --norc --noprofile'], env)
    this.#run(['set-option', '-g', 'status', 'off'])
  }

  #run(args: string[], env?: Record<string, string>): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', env: env ?? (process.env as Record<string, string>) })
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`)
    return r.stdout
  }

  /** Type a command line into the shell and press Enter. */
  type(line: string): void {
    this.#run(['send-keys', '-t', this.target, '-l', line])
    this.#run(['send-keys', '-t', this.target, 'Enter'])
  }

  /** Press keys (tmux key names: `v`, `Up`, `Escape`, `Enter`, `C-c`, `?`). */
  keys(...names: string[]): void {
    for (const n of names) this.#run(['send-keys', '-t', this.target, n])
  }

  /**
   * The visible screen as text; `escapes` keeps the colour codes (-e), `join` joins the lines
   * the terminal wrapped itself (-J: a long link written as one run comes back on one line).
   */
  screen(opts: { escapes?: boolean; join?: boolean } = {}): string {
    return this.#run(['capture-pane', '-p', ...(opts.escapes ? ['-e'] : []), ...(opts.join ? ['-J'] : []), '-t', this.target])
  }

  format(fmt: string): string {
    return this.#run(['display-message', '-p', '-t', this.target, fmt]).trim()
  }

  /** Whether the pane shows the alternate screen (a full-screen program owns it). */
  alternateOn(): boolean {
    return this.format('#{alternate_on}') === '1'
  }

  resize(cols: number, rows: number): void {
    this.#run(['resize-window', '-t', 'lk', '-x', String(cols), '-y', String(rows)])
  }

  async waitFor(what: RegExp | ((screen: string) => boolean), timeoutMs = 10_000): Promise<string> {
    const ok = typeof what === 'function' ? what : (s: string) => what.test(s)
    const end = Date.now() + timeoutMs
    let last = ''
    while (Date.now() < end) {
      last = this.screen()
      if (ok(last)) return last
      await Bun.sleep(50)
    }
    throw new Error(`timed out waiting for ${String(what)} on the screen:\n${last}`)
  }

  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'])
  }
}

/** The shell command that starts latchkey from source with ephemeral ports. */
export function latchkeyCommand(dataDir: string, extra: string[] = []): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  return [BUN, join(ROOT, 'src', 'main.ts'), '--port', '0', '--api-port', '0', '--data-dir', dataDir, ...extra].map(q).join(' ')
}

export interface RuntimeInfo {
  pid: number
  apiPort: number
  dashboardPort: number
}

/** Wait until latchkey in `dataDir` has written runtime.json (it is listening). */
export async function runtimeInfo(dataDir: string, timeoutMs = 15_000): Promise<RuntimeInfo> {
  const file = join(dataDir, 'runtime.json')
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8'))
      } catch {}
    }
    await Bun.sleep(50)
  }
  throw new Error(`latchkey did not write ${file}`)
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/**
 * Decode the QR code drawn under the line matching `title` (beside the status, or alone with
 * F): the rows that hold half blocks, whole, as a screen of `theme` shows them (see
 * test/helpers/text-qr.ts). `escaped` is the same screen captured with its colour codes
 * (`screen({ escapes: true })`), to decode what the colours draw.
 */
export function decodeScreenQr(screen: string, title: RegExp, opts: { theme?: Theme; escaped?: string } = {}): string | null {
  const lines = screen.split('\n')
  const start = lines.findIndex((l) => title.test(l))
  if (start === -1) return null
  const source = (opts.escaped ?? screen).split('\n')
  const rows: string[] = []
  for (let i = start + 1; i < lines.length && /[▀▄█]/.test(lines[i]); i++) rows.push(source[i])
  return decodeTextQr(rows, opts.theme ?? 'dark')
}
