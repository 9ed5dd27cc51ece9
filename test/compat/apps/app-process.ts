/**
 * A real app for the compatibility suite, run as a child process in its own process group
 * (so its kernels, workers and helpers stop with it), on 127.0.0.1 and a free port, with
 * its own temp config dir. A missing Debian or npm package fails with the package to
 * install, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tempDir } from '../../helpers/latchkey.ts'

export interface AppProcess {
  name: string
  /** The app's own address, http://127.0.0.1:<port> (what latchkey's target points at). */
  origin: string
  port: number
  /** The temp dir holding the app's config and data; removed by stop(). */
  dir: string
  pid: number
  /** Everything the app printed so far (stdout + stderr). */
  output(): string
  stop(): Promise<void>
}

/** Throw unless `path` exists, naming the package that provides it. */
export function requireInstalled(path: string, pkg: string, how = `apt-get install -y ${pkg}`): void {
  if (!existsSync(path)) throw new Error(`Cannot run the compatibility tests: ${path} is missing: install the package "${pkg}" (${how})`)
}

/** A port nobody listens on right now (the app binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface SpawnOptions {
  name: string
  command: string
  args: string[]
  port: number
  dir: string
  cwd?: string
  env?: Record<string, string>
}

/** Start the app in its own process group; stop() ends the whole group and removes `dir`. */
export function spawnApp(o: SpawnOptions): AppProcess {
  const child: ChildProcess = spawn(o.command, o.args, {
    cwd: o.cwd ?? o.dir,
    env: { ...(process.env as Record<string, string>), ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let stopped = false
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal)
    } catch {
      // The group is gone already.
    }
  }
  // A test run that dies mid-file must not leave the app running.
  const onExit = () => kill('SIGKILL')
  process.once('exit', onExit)
  return {
    name: o.name,
    origin: `http://127.0.0.1:${o.port}`,
    port: o.port,
    dir: o.dir,
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (stopped) return
      stopped = true
      process.off('exit', onExit)
      kill('SIGTERM')
      const timer = setTimeout(() => kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      // Helpers (a kernel, esbuild) may outlive the leader by a moment.
      kill('SIGKILL')
      rmSync(o.dir, { recursive: true, force: true })
    },
  }
}

/** Wait until `url` answers with `status` (the app is up), or fail with the app's output. */
export async function waitUntilAnswers(app: AppProcess, url: string, status = 200, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === status) return
      last = `status ${res.status}`
    } catch (err) {
      last = String((err as Error).message ?? err)
    }
    await Bun.sleep(100)
  }
  await app.stop()
  throw new Error(`${app.name} did not answer ${url} with ${status} within ${timeoutMs / 1000} s (${last}):\n${app.output()}`)
}

/** Start apps side by side; if one fails, stop those that started before throwing. */
export async function startTogether<T extends readonly AppProcess[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts)
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? (s.value as AppProcess).stop() : undefined)))
    throw failed.reason
  }
  return settled.map((s) => (s as PromiseFulfilledResult<AppProcess>).value) as unknown as T
}

export { tempDir }
