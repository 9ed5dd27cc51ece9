/** maskSecret: a mask shows that a secret exists, never enough of it to help a guesser. */
import { describe, expect, it } from 'bun:test'
import { maskSecret } from '../../../src/tokens/secrets.ts'

const visible = (mask: string) => mask.replace(/•/g, '')

describe('maskSecret', () => {
  it('shows the first 4 characters of a long secret and nothing of its end', () => {
    const secret = 'Zq7xK2mP9vLw4TnB8cRd5HyA'
    expect(maskSecret(secret)).toBe('Zq7x••••••••')
    expect(maskSecret(secret)).not.toContain(secret.slice(-2))
  })

  it('shows at most 4 characters whatever the length, and fewer for short secrets', () => {
    for (let n = 1; n <= 80; n++) {
      const secret = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_abcdefghijklmnop'.slice(0, n)
      const shown = visible(maskSecret(secret)!)
      expect(shown.length).toBeLessThanOrEqual(4)
      expect(secret.startsWith(shown)).toBe(true)
      if (n < 12) expect(shown).toBe('')
      if (n < 16) expect(shown.length).toBeLessThanOrEqual(2)
    }
  })

  it('hides the length: every mask has the same 8 bullets', () => {
    expect(maskSecret('short')).toBe('••••••••')
    expect(maskSecret('twelve-chars')).toBe('tw••••••••')
    expect(maskSecret('x'.repeat(500))).toBe('xxxx••••••••')
  })

  it('answers null for no secret', () => {
    expect(maskSecret(null)).toBeNull()
    expect(maskSecret(undefined)).toBeNull()
    expect(maskSecret('')).toBeNull()
  })
})
