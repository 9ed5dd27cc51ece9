/** The only caller of fetch: API base, credentials, JSON bodies, JSON errors, 401 handling. */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

function apiBase(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="latchkey-api-base"]')
  const v = meta?.content ?? ''
  return v && !v.startsWith('%') ? v.replace(/\/+$/, '') : ''
}

/** Absolute URL of an API path (for img src and EventSource too). */
export function apiUrl(path: string): string {
  return apiBase() + path
}

/**
 * Call the API. State changes always carry a JSON body (the server's same-origin rule
 * refuses anything else), `{}` when there is nothing to say.
 */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET'
  const body = init.body ?? (method === 'POST' || method === 'PUT' ? {} : undefined)
  let res: Response
  try {
    res = await fetch(apiUrl(path), {
      method,
      credentials: 'include',
      headers: body !== undefined ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    })
  } catch {
    throw new ApiFailure(0, 'network', 'Cannot reach latchkey: is it still running?')
  }
  const text = await res.text()
  let data: any = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  if (!res.ok) {
    if (res.status === 401 && method === 'GET') {
      // The session ended (signed out elsewhere, token rotated): back to the sign-in page.
      location.assign('/')
    }
    throw new ApiFailure(res.status, data?.error ?? 'error', data?.message ?? `Request failed (${res.status})`, data?.field)
  }
  return data as T
}

/** A message for any error thrown by api() or the code around it. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
