/**
 * watchConfigFile() on a real folder: one report per settled change, whether the editor
 * writes in place or writes a new file and renames it over the old one; nothing for a save
 * that leaves the text as it was, or for other files in the folder; a removal is told apart.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { watchConfigFile, type ConfigWatch } from '../../../src/server/config-watch.ts'

const DEBOUNCE = 100
let watcher: ConfigWatch | null = null
let dir = ''

function watch(path: string) {
  const seen: string[] = []
  watcher = watchConfigFile({ path, debounceMs: DEBOUNCE, onChange: () => seen.push('change'), onMissing: () => seen.push('missing'), onError: (e) => seen.push(`error ${e.message}`) })
  return seen
}

const settle = () => new Promise((r) => setTimeout(r, DEBOUNCE * 4))

afterEach(() => {
  watcher?.close()
  watcher = null
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('watchConfigFile', () => {
  it('reports a burst of writes in place once, after it settles', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-watch-'))
    const path = join(dir, 'latchkey.yaml')
    writeFileSync(path, 'admins: []\n')
    const seen = watch(path)
    writeFileSync(path, 'admins: ["1"]\n')
    writeFileSync(path, 'admins: ["1", "2"]\n')
    await settle()
    expect(seen).toEqual(['change'])
  })

  it('follows an editor that writes a new file and renames it over the old one, again and again', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-watch-'))
    const path = join(dir, 'latchkey.yaml')
    writeFileSync(path, 'admins: []\n')
    const seen = watch(path)
    for (const text of ['admins: ["1"]\n', 'admins: ["2"]\n']) {
      writeFileSync(join(dir, '.latchkey.yaml.swp'), text)
      renameSync(join(dir, '.latchkey.yaml.swp'), path)
      await settle()
    }
    expect(seen).toEqual(['change', 'change'])
  })

  it('ignores a save with the same text and changes to other files in the folder', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-watch-'))
    const path = join(dir, 'latchkey.yaml')
    writeFileSync(path, 'admins: []\n')
    const seen = watch(path)
    writeFileSync(path, 'admins: []\n')
    writeFileSync(join(dir, 'settings.json'), '{}')
    await settle()
    expect(seen).toEqual([])
  })

  it('reports nothing for text a reload has already read (remember)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-watch-'))
    const path = join(dir, 'latchkey.yaml')
    writeFileSync(path, 'admins: []\n')
    const seen = watch(path)
    writeFileSync(path, 'admins: ["1"]\n')
    watcher!.remember()
    await settle()
    expect(seen).toEqual([])
  })

  it('tells a removal apart, and a file created later is a change', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-watch-'))
    const path = join(dir, 'latchkey.yaml')
    writeFileSync(path, 'admins: []\n')
    const seen = watch(path)
    unlinkSync(path)
    await settle()
    writeFileSync(path, 'admins: []\n')
    await settle()
    expect(seen).toEqual(['missing', 'change'])
  })
})
