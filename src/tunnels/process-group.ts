/**
 * Tunnel children run in their own process group (`detached: true`), so one signal to `-pid`
 * reaches everything they started. Stopping is SIGTERM, then SIGKILL after the grace period
 * (cloudflared shuts down gracefully on the first SIGTERM, facts §1.7; tailscale dies at once,
 * and tailscaled drops the foreground funnel with it, facts §3.1).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Whether any process of group `pgid` is alive (zombies excluded where /proc tells). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch (err: any) {
    return err?.code === 'EPERM'
  }
}

/** Whether process `pid` is alive and not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err: any) {
    if (err?.code !== 'EPERM') return false
  }
  const stat = procStat(pid)
  return stat ? stat.state !== 'Z' : true
}

/** Linux /proc/<pid>/stat: state and start time (clock ticks since boot), to tell a reused pid apart. */
export function procStat(pid: number): { state: string; startTime: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { state: rest[0], startTime: rest[19] }
  } catch {
    return null
  }
}

/** Send `signal` to the whole group; false when it is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * SIGTERM to the group, SIGKILL after `graceMs`, then wait until no member is left.
 * `exited` resolves when the leader has exited (we reap it); members are polled.
 */
export async function stopGroup(pgid: number, graceMs: number, exited?: Promise<unknown>): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return
  const deadline = Date.now() + graceMs
  let leaderGone = false
  void exited?.then(() => (leaderGone = true))
  while (Date.now() < deadline) {
    if ((exited ? leaderGone : !processAlive(pgid)) && !groupAlive(pgid)) return
    // The leader left members behind: nothing of ours may outlive the tunnel.
    if (leaderGone && groupAlive(pgid)) break
    await sleep(25)
  }
  signalGroup(pgid, 'SIGKILL')
  for (let i = 0; i < 80 && groupAlive(pgid); i++) await sleep(25)
}

/**
 * A tiny `sh` process that kills the tunnel's group when latchkey dies, even by SIGKILL, so a
 * tunnel never keeps serving a public URL without latchkey behind it. It exits by itself when
 * the group is gone. The pid registry (pid-registry.ts) is the second line of defence.
 */
export function spawnWatchdog(parentPid: number, pgid: number, graceMs: number): ChildProcess | null {
  if (process.platform === 'win32') return null
  const graceSec = Math.max(1, Math.ceil(graceMs / 1000))
  const script = [
    'p=$1; g=$2; t=$3',
    'while kill -0 "$p" 2>/dev/null; do kill -0 -"$g" 2>/dev/null || exit 0; sleep 1; done',
    'kill -TERM -"$g" 2>/dev/null; i=0',
    'while [ $i -lt "$t" ] && kill -0 -"$g" 2>/dev/null; do sleep 1; i=$((i+1)); done',
    'kill -KILL -"$g" 2>/dev/null; exit 0',
  ].join('\n')
  try {
    const child = spawn('/bin/sh', ['-c', script, 'latchkey-tunnel-watchdog', String(parentPid), String(pgid), String(graceSec)], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin' },
    })
    child.on('error', () => {})
    child.unref()
    return child
  } catch {
    return null
  }
}
