/** Process facts the tests check (portable: Bun and Deno suites both use it). */
import { readFileSync } from 'node:fs'

/** Whether `pid` is running: it exists and is not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    // No /proc entry to read, yet signal 0 reached it: count it as running.
    return true
  }
}
