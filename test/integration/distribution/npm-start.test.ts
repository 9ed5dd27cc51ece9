/**
 * `npm start` as a developer runs it: stopping npm (a kill of npm's pid, as a terminal
 * multiplexer or an IDE does; Ctrl-C signals the whole group anyway) stops latchkey too,
 * rather than leaving it serving with no one watching.
 */
import { describe, expect, it } from 'bun:test'
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, tempDir } from '../../helpers/latchkey.ts'
import { alive } from '../../helpers/processes.ts'

const hasNpm = spawnSync('sh', ['-c', 'command -v npm']).status === 0

/** Pids whose command line mentions `needle` (the test's own data dir). */
function processesMentioning(needle: string): number[] {
  const found: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle) && alive(Number(name))) found.push(Number(name))
    } catch {
      // Gone while we looked.
    }
  }
  return found
}

async function answers(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2000) })
    return true
  } catch {
    return false
  }
}

describe.skipIf(!hasNpm)('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('stops latchkey when npm is sent %s: its port stops answering and no latchkey process is left', async (signal) => {
    const dataDir = tempDir('lk-npm-start-')
    const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: '1', LATCHKEY_CONTAINER_ROOT: dataDir }
    for (const k of Object.keys(env)) if (k.startsWith('LATCHKEY_') && k !== 'LATCHKEY_CONTAINER_ROOT') delete env[k]
    delete env.container
    const npm = spawn('npm', ['start', '--', '--data-dir', dataDir, '--port', '0', '--api-port', '0', '--no-tui'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    npm.stdout.on('data', (d) => (out += d))
    npm.stderr.on('data', (d) => (out += d))
    const npmExit = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))
    let latchkeyPid = 0
    try {
      const deadline = Date.now() + 60_000
      let m: RegExpMatchArray | null = null
      while (!(m = out.match(/INFO\s+ready dashboard=(\d+) api=(\d+)/)) && Date.now() < deadline) await Bun.sleep(100)
      expect(m, out).not.toBeNull()
      const [dashboardPort, apiPort] = [Number(m![1]), Number(m![2])]
      latchkeyPid = Number(readFileSync(join(dataDir, 'latchkey.pid'), 'utf8').trim())
      expect(latchkeyPid).not.toBe(npm.pid)
      expect(await answers(dashboardPort)).toBe(true)

      process.kill(npm.pid!, signal)
      const code = await Promise.race([npmExit, Bun.sleep(20_000).then(() => 'still running')])
      expect(code).not.toBe('still running')

      const stopBy = Date.now() + 10_000
      while ((alive(latchkeyPid) || (await answers(dashboardPort))) && Date.now() < stopBy) await Bun.sleep(100)
      expect(await answers(dashboardPort)).toBe(false)
      expect(await answers(apiPort)).toBe(false)
      expect(alive(latchkeyPid)).toBe(false)
      expect(processesMentioning(dataDir)).toEqual([])
      expect(out).toContain('shutting down')
    } finally {
      // Clean up after a failure: only the processes this test started.
      if (npm.exitCode === null) npm.kill('SIGKILL')
      if (latchkeyPid && alive(latchkeyPid)) process.kill(latchkeyPid, 'SIGKILL')
      for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
