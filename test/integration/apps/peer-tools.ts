/**
 * Helpers for the apps tests: run a command inside a peer's namespace without blocking the
 * test's event loop (the test upstream lives in this process), watch a child's RSS, and ask
 * latchkey where an app listens.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Latchkey } from '../../helpers/latchkey.ts'

export interface Exec {
  status: number
  stdout: string
  stderr: string
}

/** Run `cmd` in namespace `ns` (or on the host when null); `onLine` sees stdout lines as they arrive. */
export function execIn(ns: string | null, cmd: string[], opts: { timeoutMs?: number; onLine?: (line: string, at: number) => void } = {}): Promise<Exec> {
  const argv = ns ? ['ip', 'netns', 'exec', ns, ...cmd] : cmd
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let partial = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString('utf8')
      stdout += text
      if (!opts.onLine) return
      partial += text
      const lines = partial.split('\n')
      partial = lines.pop()!
      const at = performance.now()
      for (const line of lines) opts.onLine(line, at)
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ status: code ?? -1, stdout, stderr })
    })
  })
}

/** Resident memory of a process in MB (VmRSS from /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : 0
}

/** Sample a process's RSS every `everyMs` until stopped; returns the peak. */
export function watchRss(pid: number, everyMs = 50): { stop(): number } {
  let peak = rssMb(pid)
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid))
    } catch {
      // The process ended.
    }
  }, everyMs)
  return {
    stop() {
      clearInterval(timer)
      return peak
    },
  }
}

/** The bound port of a port-mode app, from GET /api/apps (loopback, so no credential). */
export async function appPort(lk: Latchkey, name: string): Promise<number> {
  const res = await fetch(lk.url('/api/apps'))
  const body = (await res.json()) as { apps: { name: string; listener: { port: number; listening: boolean } | null }[] }
  const app = body.apps.find((a) => a.name === name)
  if (!app?.listener?.listening) throw new Error(`app ${name} has no listener: ${JSON.stringify(body)}`)
  return app.listener.port
}
