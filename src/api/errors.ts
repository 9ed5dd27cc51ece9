/**
 * One onError for the whole API: ApiError renders itself; Elysia's validation errors become
 * `{ error, field, message }` without the submitted value (it could be a token); anything
 * else is a 500 with no detail (the cause goes to the log).
 */
import { Elysia } from 'elysia'
import { ApiError } from '../errors.ts'
import { SettingsValidationError, SettingsWriteError } from '../config/settings-store.ts'
import type { Logger } from '../log.ts'

export function errorPlugin(log: Logger) {
  return new Elysia({ name: 'latchkey.errors' }).onError({ as: 'global' }, ({ code, error, request }) => {
    if (error instanceof ApiError) return error.toResponse()
    // The guard runs in the parse hook too (src/guard/plugin.ts); Elysia wraps what a parse
    // hook throws in a ParseError, so the guard's own refusal is its cause.
    const cause = (error as { cause?: unknown })?.cause
    if (code === 'PARSE' && cause instanceof ApiError) return cause.toResponse()
    if (error instanceof SettingsValidationError) {
      return new ApiError(400, 'invalid_settings', error.problem.message, error.problem.field).toResponse()
    }
    // The disk refused the write (full, file-size limit): nothing changed, and the client is told so.
    if (error instanceof SettingsWriteError) {
      log.error('cannot save settings.json', { method: request.method, path: new URL(request.url).pathname, error: error.errno })
      return new ApiError(507, 'settings_write_failed', error.message).toResponse()
    }
    if (code === 'VALIDATION') {
      const v = (error as any).valueError as { path?: string; message?: string; schema?: { error?: string } } | undefined
      const field = (v?.path ?? '').replace(/^\//, '').replace(/\//g, '.') || 'body'
      const detail = v?.schema?.error ?? v?.message?.toLowerCase() ?? 'is invalid'
      return new ApiError(400, 'invalid_request', `"${field}" ${detail}`, field).toResponse()
    }
    if (code === 'PARSE') return new ApiError(400, 'invalid_json', 'The request body is not valid JSON').toResponse()
    if (code === 'NOT_FOUND') return new ApiError(404, 'not_found', 'No such endpoint').toResponse()
    log.error('request failed', { method: request.method, path: new URL(request.url).pathname, error: String((error as Error)?.stack ?? error) })
    return new ApiError(500, 'internal_error', 'Something went wrong inside latchkey; the log has the details').toResponse()
  })
}
