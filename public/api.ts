/** The only caller of fetch: API base, credentials, JSON errors, 401 handling. */

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

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(apiUrl(path), {
    method: init.method ?? 'GET',
    credentials: 'include',
    headers: init.body !== undefined ? { 'content-type': 'application/json' } : {},
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  })
  const text = await res.text()
  const data = text ? JSON.parse(text) : null
  if (!res.ok) {
    if (res.status === 401 && init.method === undefined) {
      // The session ended (signed out elsewhere, token rotated): back to the sign-in page.
      location.assign('/')
    }
    throw new ApiFailure(res.status, data?.error ?? 'error', data?.message ?? `Request failed (${res.status})`, data?.field)
  }
  return data as T
}
