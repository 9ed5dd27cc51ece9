/**
 * The saved lists of the token stores (sessions.json, shares.json): a JSON array read at
 * start, written atomically on change. A missing or damaged file reads as empty: it only
 * signs devices out or ends shares, and is rewritten on the next change.
 */
import { readFileSync } from 'node:fs'
import { writeFileAtomic } from '../config/atomic-write.ts'

export function readSavedList(path: string): unknown[] {
  try {
    const list: unknown = JSON.parse(readFileSync(path, 'utf8'))
    return Array.isArray(list) ? list : []
  } catch {
    return []
  }
}

export function writeSavedList(path: string, list: readonly unknown[]): void {
  writeFileAtomic(path, JSON.stringify(list, null, 1) + '\n')
}
