/** Roles are ordered, so "has at least this role" is a comparison. */
import type { GrantedRole } from '../tokens/sessions.ts'

export type Role = 'none' | GrantedRole

/** What a route needs: a role, or `public` (anyone, even anonymous). */
export type Need = 'public' | 'viewer' | 'admin'

const rank: Record<Role, number> = { none: 0, viewer: 1, admin: 2 }

export function atLeast(have: Role, need: Exclude<Role, 'none'>): boolean {
  return rank[have] >= rank[need]
}

/** The more permissive of two roles. */
export function maxRole(a: Role, b: Role): Role {
  return rank[a] >= rank[b] ? a : b
}
