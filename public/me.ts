/** Who is looking at the dashboard (GET /api/whoami), shared by the panels. */
import { api } from './api.ts'

export interface WhoAmI {
  authenticated: boolean
  role: 'none' | 'viewer' | 'admin'
  method: string
  local: boolean
  address: string
  tailscale: { id: string | null; loginName: string; displayName: string; node: string | null } | null
  session: { id: string; expiresAt: string } | null
  reason: string | null
}

let current: WhoAmI | null = null

export async function loadMe(): Promise<WhoAmI> {
  current = await api<WhoAmI>('/api/whoami')
  return current
}

export function me(): WhoAmI {
  if (!current) throw new Error('whoami not loaded')
  return current
}

export const isAdmin = (): boolean => current?.role === 'admin'
