/**
 * Whether stdin or stdout is a terminal, asked without creating `process.stdin` or
 * `process.stdout` when it cannot be one: on Bun, creating either loads the Node stream
 * machinery, a good part of a cold start. A terminal is always a character device, so a pipe
 * or a file (a service, a container log, a test) is answered by one fstat.
 */
import { fstatSync } from 'node:fs'

function characterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice()
  } catch {
    return false
  }
}

export function stdinIsTerminal(): boolean {
  return characterDevice(0) && process.stdin.isTTY === true
}

export function stdoutIsTerminal(): boolean {
  return characterDevice(1) && process.stdout.isTTY === true
}
