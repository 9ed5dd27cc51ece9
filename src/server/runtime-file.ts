/**
 * `<dataDir>/runtime.json` = {pid, apiPort, dashboardPort, host}: how `latchkey tunnel ...` on this
 * machine finds the running latchkey. Written at startup, removed at shutdown; a file whose pid
 * is gone is stale (a crash) and ignored by readers.
 */
import { readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../config/atomic-write.ts'

export interface RuntimeInfo {
  pid: number
  apiPort: number
  dashboardPort: number
  host: string
}

export const runtimeFilePath = (dataDir: string) => join(dataDir, 'runtime.json')

export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): void {
  // No fsync: after a crash the file is stale whatever it holds (its pid is gone).
  writeFileAtomic(runtimeFilePath(dataDir), JSON.stringify(info) + '\n', 0o600, { durable: false })
}

/** Remove the file if it is still ours (a newer latchkey may have replaced it). */
export function removeRuntimeFile(dataDir: string, pid = process.pid): void {
  try {
    if (readRuntimeFile(dataDir)?.pid === pid) unlinkSync(runtimeFilePath(dataDir))
  } catch {}
}

export function readRuntimeFile(dataDir: string): RuntimeInfo | null {
  try {
    const o = JSON.parse(readFileSync(runtimeFilePath(dataDir), 'utf8'))
    if (Number.isInteger(o?.pid) && Number.isInteger(o?.apiPort)) return o as RuntimeInfo
  } catch {}
  return null
}
