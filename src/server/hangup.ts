/**
 * Tells a terminal hang-up from a reload request: both arrive as SIGHUP. When the terminal
 * latchkey runs in goes away (an SSH session drops, a window closes), the kernel hangs the
 * terminal up before it sends the signal, and from then on the descriptors that were a
 * terminal are no longer one (isatty fails with ENOTTY, tty_io.c `hung_up_tty_fops`).
 * `kill -HUP` and `latchkey reload` leave them as they were.
 */
import { isatty } from 'node:tty'

/** Standard descriptors that were a terminal when latchkey started. */
const terminals = [0, 1, 2].filter((fd) => isatty(fd))

/** Whether the terminal latchkey started on has hung up (then SIGHUP means: stop). */
export function terminalHungUp(): boolean {
  return terminals.some((fd) => !isatty(fd))
}
