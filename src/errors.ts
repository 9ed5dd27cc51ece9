/**
 * latchkey's few error classes. API errors carry a stable `code` (spelled as the reference
 * documents spell it) and an HTTP status; the body they render holds only safe fields.
 */

/** An error an API client can act on; rendered as `{ error, message, field? }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }

  toJSON(): Record<string, unknown> {
    return this.field === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, field: this.field, message: this.message }
  }

  toResponse(): Response {
    return Response.json(this.toJSON(), {
      status: this.status,
      headers: { 'cache-control': 'no-store', ...this.headers },
    })
  }
}

/** Bad input from a client: 400 naming the field, never echoing the value. */
export class BadRequestError extends ApiError {
  constructor(field: string | undefined, message: string, code = 'invalid_request') {
    super(400, code, message, field)
  }
}

/** A request that conflicts with the current state or configuration (the runbook's 409s). */
export class ConflictError extends ApiError {
  constructor(code: string, message: string) {
    super(409, code, message)
  }
}

/** Where in a file a problem is. */
export interface FilePosition {
  path: string
  line?: number
  column?: number
}

/**
 * A configuration problem found at start-up (flags, env, latchkey.yaml, settings.json).
 * The message reads `Cannot read <file>: line L, column C: <detail>`; the process exits 2.
 */
export class ConfigError extends SyntaxError {
  readonly exitCode = 2
  constructor(
    readonly detail: string,
    readonly where?: FilePosition,
  ) {
    super(ConfigError.format(detail, where))
    this.name = 'ConfigError'
  }

  static format(detail: string, where?: FilePosition): string {
    if (!where) return detail
    const at = where.line !== undefined ? `line ${where.line}${where.column !== undefined ? `, column ${where.column}` : ''}: ` : ''
    return `Cannot read ${where.path}: ${at}${detail}`
  }
}

/** A usage error on the command line (unknown flag, bad value). Exit code 2. */
export class UsageError extends TypeError {
  readonly exitCode = 2
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
