/**
 * Doctor checks on disk: the data dir (exists, owner, mode), the files in it (no secrets
 * readable by other users), settings.json and latchkey.yaml (valid, with the position of
 * the first error).
 */
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/resolve.ts'
import { SettingsStore } from '../config/settings-store.ts'
import { expandHome } from '../config/data-dir.ts'
import type { Settings } from '../config/settings-schema.ts'
import { octalMode, type CheckResult } from './check.ts'

// Note: Windows has no POSIX modes; node reports 0o666 for every file there.
const POSIX = process.platform !== 'win32'

const statOrNull = (path: string): Stats | null => {
  try {
    return statSync(path)
  } catch {
    return null
  }
}

const readableByOthers = (st: Stats) => POSIX && (st.mode & 0o077) !== 0

/** The data dir itself: present, a folder, ours, 0700. */
export function checkDataDir(dir: string): CheckResult {
  const name = 'data dir'
  let st: Stats
  try {
    st = statSync(dir)
  } catch (err: any) {
    if (err?.code === 'ENOENT') return { name, status: 'info', detail: `${dir} does not exist yet (latchkey creates it with mode 0700 at first start)` }
    return { name, status: 'fail', detail: `cannot read ${dir} (${err?.code ?? err})`, fix: `check the permissions of its parent folders, or pass --data-dir` }
  }
  if (!st.isDirectory()) return { name, status: 'fail', detail: `${dir} is not a folder`, fix: 'move that file away, or pass --data-dir DIR' }
  if (POSIX && typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    return { name, status: 'fail', detail: `${dir} belongs to another user (uid ${st.uid})`, fix: `sudo chown -R "$(id -un)" ${dir}` }
  }
  if (readableByOthers(st)) {
    return { name, status: 'warn', detail: `${dir} has mode ${octalMode(st.mode)}: other users can list it`, fix: `chmod 700 ${dir}` }
  }
  return { name, status: 'ok', detail: `${dir} (mode ${octalMode(st.mode)})` }
}

/** Every file latchkey wrote into the data dir holds state or secrets: none may be readable by others. */
export function checkFileModes(dir: string, configPath: string): CheckResult {
  const name = 'file modes'
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return { name, status: 'info', detail: 'no data dir yet, so no files to check' }
  }
  const open: string[] = []
  for (const entry of entries.sort()) {
    const path = join(dir, entry)
    // latchkey.yaml is the operator's file; it is checked below only when it holds a key.
    if (path === configPath) continue
    const st = statOrNull(path)
    if (st?.isFile() && readableByOthers(st)) open.push(`${entry} (${octalMode(st.mode)})`)
  }
  if (open.length) {
    return { name, status: 'fail', detail: `readable by other users: ${open.join(', ')}`, fix: `chmod 600 ${open.map((o) => join(dir, o.split(' ')[0])).join(' ')}` }
  }
  return { name, status: 'ok', detail: POSIX ? 'every file in the data dir is private to you' : 'not checked on Windows' }
}

/** settings.json parses and matches the schema; returns the settings for later checks. */
export function checkSettings(dir: string): { result: CheckResult; settings: Settings | null } {
  const name = 'settings.json'
  const path = join(dir, 'settings.json')
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err: any) {
    if (err?.code === 'ENOENT') return { result: { name, status: 'info', detail: `${path} does not exist yet (written at first start)` }, settings: null }
    return { result: { name, status: 'fail', detail: `cannot read ${path} (${err?.code ?? err})`, fix: `chmod 600 ${path}` }, settings: null }
  }
  try {
    const settings = SettingsStore.parse(text, path)
    return { result: { name, status: 'ok', detail: `${path} is valid` }, settings }
  } catch (err: any) {
    return { result: { name, status: 'fail', detail: String(err?.message ?? err), fix: 'correct the file at that position, or move it aside to start from defaults' }, settings: null }
  }
}

/**
 * latchkey.yaml: `error` is what loading it threw (the doctor resolves the config first);
 * a file holding an API key must be private.
 */
export function checkYaml(config: Config, error: unknown): CheckResult {
  const name = 'latchkey.yaml'
  const path = config.configPath
  if (error) {
    const message = String((error as Error)?.message ?? error)
    return { name, status: 'fail', detail: message, fix: 'correct the file at that position (every key is listed in latchkey.example.yaml)' }
  }
  const st = statOrNull(path)
  if (!st) return { name, status: 'info', detail: `${path} is absent (optional: the defaults, flags and env apply)` }
  if (config.sources.apiKey === 'yaml' && readableByOthers(st)) {
    return { name, status: 'fail', detail: `${path} holds apiKey and has mode ${octalMode(st.mode)}`, fix: `chmod 600 ${path}, or move the key to apiKeyFile` }
  }
  return { name, status: 'ok', detail: `${path} is valid` }
}

/** The API key file, when configured, must be private too. */
export function checkApiKeyFile(config: Config): CheckResult | null {
  if (!config.apiKeyFile) return null
  const path = expandHome(config.apiKeyFile)
  const st = statOrNull(path)
  if (st && readableByOthers(st)) {
    return { name: 'api key file', status: 'fail', detail: `${path} has mode ${octalMode(st.mode)}`, fix: `chmod 600 ${path}` }
  }
  return { name: 'api key file', status: 'ok', detail: `${path} is private` }
}
