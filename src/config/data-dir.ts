/** Where latchkey keeps its files: --data-dir, else LATCHKEY_HOME, else ~/.latchkey. */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { mkdirSync, chmodSync, statSync } from 'node:fs'
import { ConfigError } from '../errors.ts'

export function expandHome(path: string): string {
  if (path === '~') return homedir()
  if (path.startsWith('~/')) return join(homedir(), path.slice(2))
  return resolve(path)
}

/** Create the data dir (mode 0700) if needed and return its absolute path. */
export function ensureDataDir(path: string): string {
  const dir = expandHome(path)
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const st = statSync(dir)
    if (!st.isDirectory()) throw new ConfigError('not a folder', { path: dir })
    // Other users must not read sessions or settings.
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700)
  } catch (err: any) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`cannot create the data folder (${err?.code ?? err})`, { path: dir })
  }
  return dir
}
