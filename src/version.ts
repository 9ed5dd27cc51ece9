/** The version (package.json) and the commit baked in by scripts/build.ts. */
import pkg from '../package.json' with { type: 'json' }

declare const LATCHKEY_COMMIT: string | undefined

export const VERSION: string = pkg.version
export const COMMIT: string = typeof LATCHKEY_COMMIT === 'string' ? LATCHKEY_COMMIT : 'dev'

export function versionLine(runtimeName: string, runtimeVersion: string): string {
  return `latchkey ${VERSION} (commit ${COMMIT}, ${runtimeName} ${runtimeVersion})`
}

/** What GET /api/health answers: liveness and the version, nothing else. */
export function health(version: string): { status: 'ok'; version: string } {
  return { status: 'ok', version }
}
