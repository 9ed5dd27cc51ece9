/**
 * Doctor checks for the tunnel tools: the tailscaled LocalAPI socket (reachable, logged in)
 * and the `tailscale` and `cloudflared` executables on PATH with their versions.
 */
import { spawnSync } from 'node:child_process'
import type { CheckResult } from './check.ts'
import { findExecutable } from '../tunnels/find-executable.ts'

export interface TailscaleStatus {
  BackendState?: string
  AuthURL?: string
  TailscaleIPs?: string[] | null
  Self?: { DNSName?: string; HostName?: string } | null
}

/**
 * GET /localapi/v0/status?peers=false over the unix socket. Facts §4.1: the Host header
 * must be `local-tailscaled.sock` (node would send `localhost`, which tailscaled refuses).
 */
export async function localApiStatus(socketPath: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  // Loaded here, not at the top: node:http costs every start of latchkey a few milliseconds.
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path: '/localapi/v0/status?peers=false', method: 'GET', headers: { Host: 'local-tailscaled.sock' }, timeout: timeoutMs },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (body.length < 1 << 20) body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
    req.on('error', reject)
    req.end()
  })
}

/** `needed`: the configuration relies on Tailscale (its tunnel, or admins by Tailscale identity). */
export async function checkTailscaleSocket(socketPath: string, needed: boolean): Promise<{ result: CheckResult; ip: string | null }> {
  const name = 'tailscale socket'
  if (process.platform === 'win32') return { result: { name, status: 'info', detail: 'not checked on Windows (tailscaled uses a named pipe there)' }, ip: null }
  const absent = (detail: string, fix: string) => ({ result: needed ? { name, status: 'fail' as const, detail, fix } : { name, status: 'info' as const, detail: `${detail} (needed only for Tailscale tunnels and identity)` }, ip: null })
  let res: { status: number; body: string }
  try {
    res = await localApiStatus(socketPath)
  } catch (err: any) {
    const code = err?.code ?? 'error'
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return absent(`tailscaled is not running at ${socketPath}`, 'start it (sudo systemctl start tailscaled), or point --tailscale-socket at its socket')
    if (code === 'EACCES') return { result: { name, status: 'fail', detail: `permission denied on ${socketPath}`, fix: 'run latchkey as a user who may open the socket' }, ip: null }
    return { result: { name, status: 'fail', detail: `no answer from ${socketPath} (${code})`, fix: 'restart tailscaled (sudo systemctl restart tailscaled)' }, ip: null }
  }
  if (res.status !== 200) {
    return { result: { name, status: 'fail', detail: `the LocalAPI at ${socketPath} answered ${res.status}: ${res.body.split('\n')[0].slice(0, 120)}`, fix: 'check that this socket belongs to tailscaled' }, ip: null }
  }
  let st: TailscaleStatus
  try {
    st = JSON.parse(res.body) as TailscaleStatus
  } catch {
    return { result: { name, status: 'fail', detail: `the LocalAPI at ${socketPath} did not answer JSON`, fix: 'check that this socket belongs to tailscaled' }, ip: null }
  }
  const ip = st.TailscaleIPs?.find((a) => !a.includes(':')) ?? null
  // Facts §3.5: BackendState is one of NoState, NeedsLogin, NeedsMachineAuth, Stopped, Starting, Running.
  switch (st.BackendState) {
    case 'Running': {
      const host = (st.Self?.DNSName ?? '').replace(/\.$/, '') || st.Self?.HostName || 'this node'
      return { result: { name, status: 'ok', detail: `tailscaled is running and logged in as ${host}${ip ? ` (${ip})` : ''}` }, ip }
    }
    case 'NeedsLogin':
      return { result: { name, status: 'warn', detail: 'tailscaled is running but logged out', fix: st.AuthURL ? `log in at ${st.AuthURL}` : 'tailscale up' }, ip: null }
    case 'NeedsMachineAuth':
      return { result: { name, status: 'warn', detail: 'this machine waits for approval by the tailnet admin', fix: 'approve it in the Tailscale admin console (Machines)' }, ip: null }
    case 'Stopped':
      return { result: { name, status: 'warn', detail: 'tailscaled is stopped', fix: 'tailscale up' }, ip: null }
    default:
      return { result: { name, status: 'warn', detail: `tailscaled is in state ${JSON.stringify(st.BackendState ?? 'unknown')}`, fix: 'wait a moment and run latchkey doctor again, or run tailscale up' }, ip: null }
  }
}

const INSTALL: Record<string, string> = {
  tailscale: 'https://tailscale.com/download',
  cloudflared: 'https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/',
}

/** `tailscale version` prints the version on its first line; `cloudflared --version` prints `cloudflared version X (built ...)`. */
export function checkTool(tool: 'tailscale' | 'cloudflared', needed: boolean): CheckResult {
  const file = findExecutable(tool)
  if (!file) {
    const detail = `${tool} is not on PATH`
    return needed
      ? { name: tool, status: 'fail', detail: `${detail}, and the ${tool === 'tailscale' ? 'Tailscale' : 'Cloudflare'} tunnel is turned on in settings.json`, fix: `install it from ${INSTALL[tool]}` }
      : { name: tool, status: 'info', detail: `${detail} (needed only for the ${tool === 'tailscale' ? 'Tailscale' : 'Cloudflare'} tunnel: ${INSTALL[tool]})` }
  }
  const run = spawnSync(file, [tool === 'tailscale' ? 'version' : '--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] })
  const version = `${run.stdout ?? ''}\n${run.stderr ?? ''}`.match(/\d+\.\d+\.\d+[\w.+-]*/)?.[0]
  if (run.status !== 0 || !version) {
    const why = run.error ? (run.error as NodeJS.ErrnoException).code ?? 'error' : `exit ${run.status ?? run.signal}`
    return { name: tool, status: 'warn', detail: `${file} did not report a version (${why})`, fix: `reinstall it from ${INSTALL[tool]}` }
  }
  return { name: tool, status: 'ok', detail: `${version} at ${file}` }
}
