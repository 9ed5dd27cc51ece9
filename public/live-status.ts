/**
 * The remote status, kept live: Server-Sent Events from GET /api/remote/events (with
 * credentials, so a cross-origin API base works too), falling back to polling
 * GET /api/remote/status when the stream is unavailable. Panels subscribe with onStatus().
 */
import { api, apiUrl } from './api.ts'

export interface RemoteStatus {
  state: 'stopped' | 'starting' | 'running' | 'stopping' | 'failed'
  provider: 'tailscale' | 'cloudflare' | null
  kind: string | null
  url: string | null
  lastError: string | null
  lastErrorCode: string | null
  externalTunnel: { provider: string; url: string; urls: string[]; funnel: boolean } | null
  restore: { outcome: string; reason: string; at: string | null; provider: string | null; message?: string }
  /** The last config reload (src/server/reload-status.ts); null before any. */
  reload?: ReloadStatus | null
}

export interface ReloadStatus {
  at: string
  ok: boolean
  trigger: 'signal' | 'file'
  applied: string[]
  needsRestart: string[]
  error: string | null
}

type Listener = (s: RemoteStatus) => void
const listeners = new Set<Listener>()
let last: RemoteStatus | null = null
let mode: 'sse' | 'poll' | 'connecting' = 'connecting'
let pollTimer: ReturnType<typeof setTimeout> | null = null
const POLL_MS = 2000

export function onStatus(listener: Listener): void {
  listeners.add(listener)
  if (last) listener(last)
}

export function latestStatus(): RemoteStatus | null {
  return last
}

/** How updates arrive (shown in the panel, and read by the tests). */
export function liveMode(): string {
  return mode
}

/** Take a status from anywhere (an action's response counts too). */
export function publish(status: RemoteStatus): void {
  last = status
  for (const l of listeners) l(status)
}

function setMode(next: typeof mode): void {
  mode = next
  document.body.dataset.liveMode = next
  for (const node of document.querySelectorAll<HTMLElement>('[data-live]')) {
    node.textContent = next === 'sse' ? 'live' : next === 'poll' ? 'refreshing every 2 s' : 'connecting…'
  }
}

async function pollOnce(): Promise<void> {
  try {
    publish(await api<RemoteStatus>('/api/remote/status'))
  } catch {}
}

function startPolling(): void {
  setMode('poll')
  const tick = async () => {
    await pollOnce()
    if (mode === 'poll') pollTimer = setTimeout(tick, POLL_MS)
  }
  void tick()
}

function stopPolling(): void {
  if (pollTimer) clearTimeout(pollTimer)
  pollTimer = null
}

export function startLiveStatus(): void {
  if (typeof EventSource === 'undefined') return startPolling()
  let failures = 0
  const source = new EventSource(apiUrl('/api/remote/events'), { withCredentials: true })
  source.addEventListener('status', (e) => {
    failures = 0
    if (mode !== 'sse') {
      stopPolling()
      setMode('sse')
    }
    publish(JSON.parse((e as MessageEvent<string>).data) as RemoteStatus)
  })
  source.addEventListener('error', () => {
    failures++
    // EventSource retries by itself; meanwhile (or for good, once it gives up) poll.
    if (source.readyState === EventSource.CLOSED || failures >= 3) {
      if (source.readyState === EventSource.CLOSED || failures >= 6) source.close()
      if (mode !== 'poll') startPolling()
    }
  })
  // Until the first event arrives, show the current status from a plain request.
  void pollOnce()
}
