/** Secret generation and comparison: crypto-random, URL-safe, compared in constant time. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A URL-safe random secret; 32 bytes = 256 bits (the floor is 128). */
export function randomSecret(bytes = 32): string {
  return randomBytes(Math.max(16, bytes)).toString('base64url')
}

/** SHA-256 hex of a secret, for storing and indexing without keeping the secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/**
 * Constant-time equality of two secrets. Hashing first makes the lengths equal, so the
 * comparison leaks neither content nor length. An empty secret never matches.
 */
export function secretsEqual(given: string | null | undefined, expected: string | null | undefined): boolean {
  if (!given || !expected) return false
  const a = createHash('sha256').update(given, 'utf8').digest()
  const b = createHash('sha256').update(expected, 'utf8').digest()
  return timingSafeEqual(a, b)
}

/** A short non-secret label for a secret (first 8 hex of its hash), for logs and issuer ids. */
export function fingerprint(secret: string): string {
  return hashSecret(secret).slice(0, 8)
}

/** `abcd…wxyz` style mask for showing that a secret exists without revealing it. */
export function maskSecret(secret: string | null | undefined): string | null {
  if (!secret) return null
  return `${secret.slice(0, 4)}${'•'.repeat(8)}${secret.slice(-2)}`
}
