/** unsafeAppPath: the path forms that could leave a path-mode app's prefix once the app reads them. */
import { describe, expect, it } from 'bun:test'
import { unsafeAppPath } from '../../../src/apps/path-safety.ts'

const at = (path: string) => unsafeAppPath(`http://127.0.0.1:3000${path}`)

describe('unsafeAppPath', () => {
  it('refuses encoded slashes and backslashes, in either case', () => {
    for (const path of ['/apps/x/..%2fadmin', '/apps/x/%2Fadmin', '/apps/x/a%2f..%2f..%2fy', '/apps/x/%2e%2e%2fy']) expect(at(path)).toContain('encoded slash (%2F)')
    for (const path of ['/apps/x/..%5cadmin', '/apps/x/%5Cadmin', '/apps/x/%2e%2e%5Cy']) expect(at(path)).toContain('encoded backslash (%5C)')
  })

  it('refuses a raw backslash', () => {
    expect(at('/apps/x/..\\admin')).toContain('backslash')
    expect(at('/apps/x/a\\b')).toContain('backslash')
  })

  it('refuses dot segments, plain or encoded with %2e or %2E', () => {
    for (const path of ['/apps/x/%2e%2e/y', '/apps/x/.%2e/y', '/apps/x/%2E./y', '/apps/x/%2E%2E/y', '/apps/x/%2e/y', '/apps/x/a/%2e%2e', '/apps/x/../y', '/apps/x/./y']) {
      expect(at(path)).toContain('dot segment')
    }
  })

  it('leaves ordinary escapes, dots inside names and the query alone', () => {
    for (const path of ['/apps/x/', '/apps/x/a%20b', '/apps/x/%41%42', '/apps/x/.well-known/x', '/apps/x/file.tar.gz', '/apps/x/%2e%2e%2e', '/apps/x/a..b', '/apps/x/%252e%252e/y', '/apps/x/p?next=..%2f..%5c&q=\\', '/apps/x/p#%2f']) {
      expect(at(path)).toBeNull()
    }
  })
})
