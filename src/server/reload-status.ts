/**
 * The outcome of the last config reload, as GET /api/remote/status shows it (`reload`, in the
 * style of the runbook's `restore` block) and as `<dataDir>/reload.json` keeps it, so
 * `latchkey reload` on this machine can print what the running latchkey did with its signal.
 * Never a secret: key names, a time, and an error that names a file position.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../config/atomic-write.ts'
import type { FilePosition } from '../errors.ts'

/** What asked for the reload: SIGHUP (`latchkey reload` sends it too) or a change to the file. */
export type ReloadTrigger = 'signal' | 'file'

export interface ReloadStatus {
  /** ISO time the reload finished. */
  at: string
  ok: boolean
  trigger: ReloadTrigger
  /** latchkey.yaml names of what changed and now applies. */
  applied: string[]
  /** latchkey.yaml names of what changed but keeps its running value until a restart. */
  needsRestart: string[]
  /** Why the file was refused (nothing changed then), with its line and column. */
  error: string | null
  /** Where the refused file is wrong, when the error has a position. */
  position: FilePosition | null
}

/** reload.json: the status plus when the reload began, so a caller can tell it followed its signal. */
export interface ReloadRecord extends ReloadStatus {
  pid: number
  /** Epoch ms the reload began. */
  startedAt: number
}

export const reloadFilePath = (dataDir: string) => join(dataDir, 'reload.json')

export function writeReloadRecord(dataDir: string, record: ReloadRecord): void {
  writeFileAtomic(reloadFilePath(dataDir), JSON.stringify(record) + '\n')
}

export function readReloadRecord(dataDir: string): ReloadRecord | null {
  try {
    const o = JSON.parse(readFileSync(reloadFilePath(dataDir), 'utf8'))
    if (Number.isInteger(o?.pid) && typeof o?.startedAt === 'number' && typeof o?.ok === 'boolean') return o as ReloadRecord
  } catch {}
  return null
}
