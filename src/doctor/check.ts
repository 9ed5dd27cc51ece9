/** What one doctor check reports, and how it is printed: one line, with a fix when needed. */

/**
 * `ok`: fine. `info`: worth knowing, not a problem (e.g. an optional tool that is absent).
 * `warn` and `fail`: something to fix; either makes `latchkey doctor` exit non-zero.
 */
export type CheckStatus = 'ok' | 'info' | 'warn' | 'fail'

export interface CheckResult {
  /** Short name of what was checked, e.g. "data dir". */
  name: string
  status: CheckStatus
  /** What was found, in one sentence-case phrase. */
  detail: string
  /** What to do about it (for warn and fail). */
  fix?: string
}

const MARKS: Record<CheckStatus, string> = { ok: '✓', info: '·', warn: '!', fail: '✗' }

export function formatResult(r: CheckResult, nameWidth: number): string {
  const fix = r.fix && (r.status === 'warn' || r.status === 'fail') ? ` (fix: ${r.fix})` : ''
  return `${MARKS[r.status]} ${r.name.padEnd(nameWidth)}  ${r.detail}${fix}`
}

export function isProblem(r: CheckResult): boolean {
  return r.status === 'warn' || r.status === 'fail'
}

/** Octal file mode as `ls` users read it, e.g. 0600. */
export function octalMode(mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0')
}
