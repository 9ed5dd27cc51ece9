/**
 * Where a session from a share link may go (issue 20, part 1). identify() sets `caller.scope`
 * only when such a session is what admits the caller (its rule 9); this is the one place that
 * decides what the scope allows, for every listener:
 *
 * 1. Its app: on the app's own port (port mode) or under the app's prefix (path mode). A view
 *    only share allows GET and HEAD there, and no WebSocket (a socket carries writes: a
 *    notebook's kernel runs code through one).
 * 2. `/api/whoami` (who am I, and until when) and `/api/preferences` (the caller's own).
 *    Public routes answer a shared session as they answer anyone (`/api/health`, and
 *    `/remote-login`, where a real login link replaces the shared session).
 * 3. Nothing else: not the dashboard, no other `/api` route, no other app. A 403 whose
 *    message says why and where the session does reach.
 */
import { ApiError } from '../errors.ts'
import type { Caller } from './identify.ts'

/** Where a request goes, as far as a scope is concerned. */
export type Destination =
  | { kind: 'app'; app: string; method: string; websocket: boolean }
  | { kind: 'api'; path: string }
  | { kind: 'dashboard' }

/** The API paths a shared session reaches (rule 2); the guard's public routes need no listing. */
const API_ALLOWED = new Set(['/api/whoami', '/api/preferences'])
const READS = new Set(['GET', 'HEAD'])

/** Null when `caller` has no scope or the scope allows `to`; else the 403 to answer. */
export function scopeRefusal(caller: Caller, to: Destination): ApiError | null {
  const scope = caller.scope
  if (!scope) return null
  const only = `This session comes from a share link for the app "${scope.app}"`
  if (to.kind === 'app') {
    if (to.app !== scope.app) return new ApiError(403, 'share_scope', `${only}: it cannot open "${to.app}". Open "${scope.app}" with the link you were given`)
    if (scope.viewOnly && (to.websocket || !READS.has(to.method))) {
      return new ApiError(403, 'share_view_only', `${only}, and the link is view only: it can read pages (GET and HEAD) but not send changes${to.websocket ? ' or open a WebSocket' : ''}`)
    }
    return null
  }
  if (to.kind === 'api' && API_ALLOWED.has(to.path.replace(/\/+$/, ''))) return null
  const what = to.kind === 'dashboard' ? 'the latchkey dashboard' : "latchkey's API beyond /api/whoami and /api/preferences"
  return new ApiError(403, 'share_scope', `${only} and reaches only that app: it cannot open ${what}`)
}
