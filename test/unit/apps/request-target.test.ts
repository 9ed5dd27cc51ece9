import { describe, expect, it } from 'bun:test'
import { requestTarget } from '../../../src/apps/request-target.ts'

describe('requestTarget', () => {
  it('says what new URL says, for plain and unusual request URLs alike', () => {
    const urls = [
      'http://box:3101/', 'http://box:3101', 'http://box/a/b.js?x=1&y=2', 'http://box/a?', 'http://box/?token=abc',
      'http://box/a/../b', 'http://box/a/./b', 'http://box/.well-known/x', 'http://box/%2e%2e/x', 'http://box/a%20b?q=a%20b',
      'http://box/a b?c d', "http://box/it's?it's", 'http://box/ä?ö', 'http://box/a\\b', 'http://box//x//y', 'http://box/x?y#z',
      'http://box/x#z', 'http://box/a|b^c{}', 'http://host.invalid/p?q=1?2', 'https://box:8443/a;b=c/@d:e?f=g+h',
    ]
    for (const url of urls) {
      const u = new URL(url)
      expect({ url, ...requestTarget(url) }).toEqual({ url, path: u.pathname, search: u.search })
    }
  })
})
