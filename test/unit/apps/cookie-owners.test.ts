import { describe, expect, it } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CookieOwners, MAX_NAMES_PER_APP } from '../../../src/apps/cookie-owners.ts'
import { tempDir } from '../../helpers/latchkey.ts'

describe('CookieOwners', () => {
  it('sends an app its own cookies and unclaimed ones, never another app\'s', () => {
    const o = new CookieOwners()
    o.learn('jupyter', ['_xsrf=abc; Path=/', 'username-127-0-0-1-8888=xyz; HttpOnly'])
    o.learn('syncthing', ['CSRF-Token-ABCDE=123; Path=/'])
    expect(o.sends('jupyter', '_xsrf')).toBe(true)
    expect(o.sends('syncthing', '_xsrf')).toBe(false)
    expect(o.sends('jupyter', 'CSRF-Token-ABCDE')).toBe(false)
    expect(o.sends('jupyter', 'theme')).toBe(true)
    expect(o.sends('syncthing', 'theme')).toBe(true)
  })

  it('lets apps that use the same name share it (one host, one cookie jar)', () => {
    const o = new CookieOwners()
    o.learn('a', ['session=1'])
    o.learn('b', ['session=2'])
    expect(o.ownersOf('session').sort()).toEqual(['a', 'b'])
    expect(o.sends('a', 'session') && o.sends('b', 'session')).toBe(true)
    expect(o.sends('c', 'session')).toBe(false)
  })

  it('keeps what it learned across a restart, and survives a damaged file', () => {
    const dir = tempDir('lk-cookie-owners-')
    new CookieOwners(dir).learn('vite', ['vite_sid=1'])
    expect(JSON.parse(readFileSync(join(dir, 'app-cookies.json'), 'utf8'))).toEqual({ vite: ['vite_sid'] })
    expect(new CookieOwners(dir).sends('other', 'vite_sid')).toBe(false)
    writeFileSync(join(dir, 'app-cookies.json'), '{ not json')
    expect(new CookieOwners(dir).sends('other', 'vite_sid')).toBe(true)
  })

  it('stops learning names from an app past its bound, and ignores names that are not cookie names', () => {
    const o = new CookieOwners()
    o.learn('noisy', Array.from({ length: MAX_NAMES_PER_APP + 50 }, (_, i) => `c${i}=1`))
    expect(o.sends('other', `c${MAX_NAMES_PER_APP - 1}`)).toBe(false)
    expect(o.sends('other', `c${MAX_NAMES_PER_APP + 10}`)).toBe(true)
    o.learn('x', ['=nameless', 'bad name=1', 'no-equals'])
    expect(o.ownersOf('bad name')).toEqual([])
  })
})
