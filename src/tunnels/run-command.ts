/** Run a short-lived CLI command (`tailscale funnel status --json`, `cloudflared --version`) with a timeout. */
import { execFile } from 'node:child_process'

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

export function runCommand(executable: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(executable, args, { env: opts.env, timeout: opts.timeoutMs ?? 5000, maxBuffer: 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : null) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

/** The environment tunnel children get: ours without latchkey's own secrets or a stray TUNNEL_TOKEN. */
export function childEnv(extra: Record<string, string> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(base)) {
    if (k.startsWith('LATCHKEY_') && k !== 'LATCHKEY_FAKE_BUN') continue
    if (k === 'TUNNEL_TOKEN' || k === 'TUNNEL_TOKEN_FILE') continue
    env[k] = v
  }
  return { ...env, ...extra }
}
