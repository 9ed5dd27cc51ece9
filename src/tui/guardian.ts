/**
 * The guardian: a tiny `sh` that gives the terminal back when latchkey cannot, i.e. after
 * SIGKILL (which no process can catch). It holds the read end of a pipe whose only writer is
 * latchkey; when latchkey dies for any reason the kernel closes that pipe, `read` sees EOF, and
 * the guardian leaves the alternate screen, shows the cursor and puts back the terminal modes
 * saved before raw mode (`stty -g`). On a normal exit latchkey restores the terminal itself and
 * kills the guardian first, so the terminal is restored exactly once.
 *
 * Note: the guardian ignores the job-control signals, so it can still set the modes after the
 * shell has taken the terminal back (SIGTTOU would stop it otherwise). It writes the escape
 * sequences before running `stty`, so the screen is back before an interactive shell (which
 * restores its own modes for a killed job) prints its prompt.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'

export const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l'

const SCRIPT = [
  "trap '' INT QUIT TSTP TTIN TTOU HUP",
  'read _unused',
  "printf '\\033[?25h\\033[?1049l' >/dev/tty 2>/dev/null",
  '[ -n "$1" ] && stty "$1" </dev/tty 2>/dev/null || stty sane </dev/tty 2>/dev/null',
].join('\n')

export interface Guardian {
  /** latchkey restored the terminal itself: end the guardian without it touching anything. */
  release(): void
}

/** The terminal modes now (`stty -g`), or '' when they cannot be read. */
export function savedModes(): string {
  const r = spawnSync('stty', ['-g'], { stdio: ['inherit', 'pipe', 'ignore'], encoding: 'utf8' })
  return r.status === 0 ? String(r.stdout).trim() : ''
}

/** Start the guardian for the terminal on stdin/stdout; `modes` is what `savedModes()` read. */
export function startGuardian(modes: string): Guardian {
  let child: ChildProcess | null = null
  try {
    child = spawn('sh', ['-c', SCRIPT, 'latchkey-tui-guardian', modes], { stdio: ['pipe', 'ignore', 'ignore'] })
    child.on('error', () => {})
    child.unref()
    ;(child.stdin as { unref?: () => void } | null)?.unref?.()
  } catch {
    child = null
  }
  return {
    release() {
      if (!child?.pid || child.exitCode !== null) return
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {}
      child = null
    },
  }
}
