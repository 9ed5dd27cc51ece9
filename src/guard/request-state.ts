/**
 * What latchkey learns about one request as it passes through: its connection, who the
 * caller is, whether the guard admitted it, whether its guess was counted. Kept on the
 * request itself under a private symbol: one small object per request, which the garbage
 * collector frees with the request (weak maps cost far more at tens of thousands a second).
 */
import type { Connection } from './connection.ts'
import type { Caller, Presented } from './identify.ts'
import type { ApiError } from '../errors.ts'

export interface RequestState {
  conn?: Connection
  /** The presented Bearer and `?token=` credentials, once read. */
  presented?: Presented
  caller?: Caller
  /** Set once the guard admitted the request for its route. */
  admitted?: Caller
  /** The guess limiter's verdict, once counted (null: nothing to refuse). */
  accounted?: ApiError | null
}

const STATE = Symbol('latchkey.request')

/** The state of `request`, created on first use. */
export function requestState(request: Request): RequestState {
  const r = request as Request & { [STATE]?: RequestState }
  return (r[STATE] ??= {})
}
