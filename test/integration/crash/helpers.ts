/**
 * Shared pieces of the crash-safety tests: read settings.json the way latchkey's next start
 * would (parse + schema check), and send settings writes to a latchkey over loopback (admin,
 * no credential: the local user).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkSettings } from '../../../src/config/settings-store.ts'
import type { Settings } from '../../../src/config/settings-schema.ts'
import type { Latchkey } from '../../helpers/latchkey.ts'

/** settings.json as latchkey's next start reads it; throws when it does not parse or validate. */
export function readSettings(dataDir: string): { settings: Settings; text: string } {
  const text = readFileSync(join(dataDir, 'settings.json'), 'utf8')
  const { settings, problem } = checkSettings(JSON.parse(text))
  if (problem) throw new Error(`settings.json does not validate: ${problem.message}\n${text}`)
  return { settings: settings!, text }
}

/** Temp files of interrupted writes beside settings.json. */
export function settingsTemps(dataDir: string): string[] {
  return readdirSync(dataDir).filter((n) => n.startsWith('settings.json.tmp-'))
}

export type Write =
  | { kind: 'regenerate' }
  | { kind: 'activate'; provider: 'tailscale' | 'cloudflare' }
  | { kind: 'edit-app'; name: string; target: string }
  | { kind: 'add-app'; name: string; target: string }

export interface Outcome {
  write: Write
  /** HTTP status, or null when the connection died first (latchkey was killed). */
  status: number | null
  body: any
}

/** Send one settings write over loopback; a dropped connection is an outcome, not an error. */
export async function send(lk: Latchkey, w: Write): Promise<Outcome> {
  const req =
    w.kind === 'regenerate' ? { method: 'POST', path: '/api/remote/token/persistent/regenerate', body: {} }
    : w.kind === 'activate' ? { method: 'POST', path: '/api/remote/provider/activate', body: { provider: w.provider } }
    : w.kind === 'edit-app' ? { method: 'PUT', path: `/api/apps/${w.name}`, body: { target: w.target, path: `/apps/${w.name}` } }
    : { method: 'POST', path: '/api/apps', body: { name: w.name, target: w.target, path: `/apps/${w.name}` } }
  try {
    const res = await fetch(lk.url(req.path, 'api'), { method: req.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(req.body) })
    const text = await res.text()
    let body: any = text
    try {
      body = JSON.parse(text)
    } catch {}
    return { write: w, status: res.status, body }
  } catch {
    return { write: w, status: null, body: null }
  }
}

/** Fisher-Yates with Math.random (each run kills at different moments, by design). */
export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}
