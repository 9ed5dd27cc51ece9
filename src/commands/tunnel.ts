/**
 * `latchkey tunnel start|stop|status`: talks to the latchkey running on this machine over its
 * API port, found in `<dataDir>/runtime.json`. From 127.0.0.1 the caller is the local user
 * (admin while no `admins` list is configured, DESIGN.md "Roles"); with an API key configured
 * (apiKey / apiKeyFile / LATCHKEY_API_KEY) it is sent as a bearer token too.
 */
import type { ParsedArgs } from '../cli.ts'
import { resolveConfig } from '../config/resolve.ts'
import { UsageError } from '../errors.ts'
import { isAlive } from '../config/instance-lock.ts'
import { readRuntimeFile, runtimeFilePath } from '../server/runtime-file.ts'

type Env = Record<string, string | undefined>

interface Status {
  state: string
  provider: string | null
  url: string | null
  lastError: string | null
  lastErrorCode: string | null
  externalTunnel: { provider: string; url: string } | null
  restore: { outcome: string; reason: string; message?: string }
}

const fail = (message: string): never => {
  throw Object.assign(new Error(message), { exitCode: 1 })
}

function describe(s: Status): string {
  const lines = [`Tunnel: ${s.state}${s.provider ? ` (${s.provider})` : ''}${s.url ? ` ${s.url}` : ''}`]
  if (s.lastError) lines.push(`Last error (${s.lastErrorCode}): ${s.lastError}`)
  if (s.externalTunnel) lines.push(`External tunnel: ${s.externalTunnel.provider} ${s.externalTunnel.url}`)
  lines.push(`Restore: ${s.restore.outcome} (${s.restore.reason})${s.restore.message ? `: ${s.restore.message}` : ''}`)
  return lines.join('\n')
}

export async function tunnel(args: ParsedArgs, env: Env, print: (text: string) => void = (t) => process.stdout.write(t + '\n')): Promise<number> {
  const sub = args.args[0]
  if (!sub || !['start', 'stop', 'status'].includes(sub) || args.args.length > 1) {
    throw new UsageError('Usage: latchkey tunnel start|stop|status')
  }
  const config = resolveConfig(args, env)
  const info = readRuntimeFile(config.dataDir)
  if (!info || !isAlive(info.pid)) {
    fail(`No latchkey is running with the data folder ${config.dataDir} (${runtimeFilePath(config.dataDir)} is missing or stale): start it first`)
  }
  const host = ['0.0.0.0', '::', 'localhost', '::1'].includes(info!.host) || info!.host.startsWith('127.') ? (info!.host === '::1' ? '[::1]' : '127.0.0.1') : info!.host
  const base = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${info!.apiPort}/api/remote`
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`
  const call = async (method: 'GET' | 'POST', path: string): Promise<{ status: number; body: any }> => {
    let res: Response
    try {
      res = await fetch(base + path, { method, headers, body: method === 'POST' ? '{}' : undefined, signal: AbortSignal.timeout(config.tunnelGraceMs + 15_000) })
    } catch (err) {
      return fail(`Cannot reach latchkey on ${host}:${info!.apiPort}: ${(err as Error).message}`)
    }
    const body = await res.json().catch(() => ({}))
    if (res.status >= 400) fail(body?.message ?? `latchkey answered HTTP ${res.status}`)
    return { status: res.status, body }
  }

  if (sub === 'status') {
    print(describe((await call('GET', '/status')).body))
    return 0
  }
  if (sub === 'stop') {
    print(describe((await call('POST', '/tunnel/stop')).body))
    return 0
  }
  await call('POST', '/tunnel/start')
  const deadline = Date.now() + config.tunnelStartTimeoutMs + 5000
  for (;;) {
    const s = (await call('GET', '/status')).body as Status
    if (s.state === 'running') {
      print(describe(s))
      return 0
    }
    if (s.state !== 'starting' || Date.now() > deadline) {
      print(describe(s))
      return fail(`The tunnel did not start${s.lastError ? `: ${s.lastError}` : ''}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}
