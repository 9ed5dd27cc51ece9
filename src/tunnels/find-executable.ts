/**
 * PATH lookup, as `which tailscale` / `where cloudflared` would do it (runbook §1.2: the
 * executable is checked before start). The lookup and the spawn use the same absolute path, so
 * what was checked is what runs.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Absolute path of `name` in `extraDirs` then PATH, or null when it is not there. */
export function findExecutable(name: string, opts: { path?: string; extraDirs?: readonly string[] } = {}): string | null {
  const dirs = [...(opts.extraDirs ?? []), ...(opts.path ?? process.env.PATH ?? '').split(delimiter)].filter(Boolean)
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : ['']
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = join(dir, name + ext)
      try {
        if (!statSync(candidate).isFile()) continue
        accessSync(candidate, constants.X_OK)
        return candidate
      } catch {}
    }
  }
  return null
}
