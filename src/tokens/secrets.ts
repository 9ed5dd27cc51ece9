/** Secret generation and comparison: crypto-random, URL-safe, compared in constant time. */
import { Buffer } from 'node:buffer'

// node:crypto on first use: on Bun, loading it (and the stream code it brings) is a good part
// of a cold start, and a start needs only random bytes, which Web Crypto gives.
let nodeCrypto: typeof import('node:crypto') | undefined
const lib = () => (nodeCrypto ??= process.getBuiltinModule('node:crypto'))

/** A URL-safe random secret; 32 bytes = 256 bits (the floor is 128). */
export function randomSecret(bytes = 32): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(Math.max(16, bytes)))).toString('base64url')
}

/** SHA-256 hex of a secret, for storing and indexing without keeping the secret. */
export function hashSecret(secret: string): string {
  return lib().hash('sha256', secret, 'hex')
}

/**
 * Constant-time equality of two secrets. Hashing first makes the lengths equal, so the
 * comparison leaks neither content nor length. An empty secret never matches.
 */
export function secretsEqual(given: string | null | undefined, expected: string | null | undefined): boolean {
  return matchSecret(given, [expected]) === 0
}

// The one-shot hash: about half the cost of createHash().update().digest() on every request.
const sha256 = (value: string): Buffer => lib().hash('sha256', value, 'buffer')

// Digests of the few expected secrets (access token, API key, login tokens), so a check
// hashes only what the client sent. Bounded: old entries go first.
const expectedDigests = new Map<string, Buffer>()

function expectedDigest(secret: string): Buffer {
  let d = expectedDigests.get(secret)
  if (!d) {
    if (expectedDigests.size >= 32) expectedDigests.delete(expectedDigests.keys().next().value!)
    expectedDigests.set(secret, (d = sha256(secret)))
  }
  return d
}

/**
 * Which of `candidates` the given secret equals (index), or -1. The given secret is hashed
 * once and compared with every candidate in constant time; empty values never match.
 */
export function matchSecret(given: string | null | undefined, candidates: readonly (string | null | undefined)[]): number {
  if (!given) return -1
  const a = sha256(given)
  let found = -1
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]
    if (c && lib().timingSafeEqual(a, expectedDigest(c)) && found === -1) found = i
  }
  return found
}

/** A short non-secret label for a secret (first 8 hex of its hash), for logs and issuer ids. */
export function fingerprint(secret: string): string {
  return hashSecret(secret).slice(0, 8)
}

/**
 * `abcd••••••••`: shows that a secret exists, and which one, without revealing it. At most 4
 * characters show (2 for a secret under 16, none under 12), so a mask never gives a guesser
 * a useful head start; the bullets are always 8, so the length stays hidden too.
 */
export function maskSecret(secret: string | null | undefined): string | null {
  if (!secret) return null
  const shown = secret.length >= 16 ? 4 : secret.length >= 12 ? 2 : 0
  return `${secret.slice(0, shown)}${'•'.repeat(8)}`
}
