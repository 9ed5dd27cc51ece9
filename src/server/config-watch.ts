/**
 * Watches latchkey.yaml and reports a change once the file has settled (300 ms without
 * another event) and its text really differs from what was last seen.
 *
 * Note: the folder is watched, not the file. Editors that save by writing a new file and
 * renaming it over the old one (vim, most IDEs) replace the inode a file watch follows, and
 * Kubernetes swaps a symlink (`..data`) next to it; every event in the folder only re-reads
 * one small file. A config that is a symlink into another folder has that folder watched too.
 */
import { readFileSync, realpathSync, watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'

export const CONFIG_DEBOUNCE_MS = 300

export interface ConfigWatchOptions {
  path: string
  debounceMs?: number
  /** The text changed (or became unreadable: the reload says why). */
  onChange(): void
  /** The file is gone (an editor's rename that never finished, or a deletion). */
  onMissing(): void
  /** The folder cannot be watched (inotify limits, a vanished folder). */
  onError(error: Error): void
}

export interface ConfigWatch {
  /** Take the file's text as seen (a reload is about to read it): only a later change is reported. */
  remember(): void
  close(): void
}

/** Start watching. */
export function watchConfigFile(o: ConfigWatchOptions): ConfigWatch {
  // null: no such file; undefined: unreadable for another reason.
  const read = (): string | null | undefined => {
    try {
      return readFileSync(o.path, 'utf8')
    } catch (err: any) {
      return err?.code === 'ENOENT' ? null : undefined
    }
  }
  let last = read()
  let timer: ReturnType<typeof setTimeout> | null = null
  const settle = () => {
    timer = null
    const text = read()
    if (text === last) return
    last = text
    if (text === null) o.onMissing()
    else o.onChange()
  }
  const poke = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(settle, o.debounceMs ?? CONFIG_DEBOUNCE_MS)
  }
  const folders = new Set([dirname(o.path)])
  try {
    folders.add(dirname(realpathSync(o.path)))
  } catch {}
  const watchers: FSWatcher[] = []
  for (const folder of folders) {
    try {
      const w = watch(folder, { persistent: false }, poke)
      w.on('error', (err) => o.onError(err as Error))
      watchers.push(w)
    } catch (err) {
      o.onError(err as Error)
    }
  }
  return {
    remember: () => void (last = read()),
    close() {
      if (timer) clearTimeout(timer)
      for (const w of watchers) w.close()
    },
  }
}
