/**
 * Restore on restart (runbook §3): applied after a clean exit and after SIGKILL, skipped with
 * each reason code (markers cleared so it does not loop), failed with restore_start_failed,
 * and leftovers of a killed latchkey reaped by the pid registry.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../../helpers/latchkey.ts'
import { livePids, newDirs, quickSettings, remote, startHarness, waitUntil, type Harness } from './helpers.ts'

let h: Harness | null = null
afterEach(async () => {
  await h?.stop()
  h = null
})

const marker = { rememberLastRunning: true, wasRunningOnShutdown: true, lastRunningProvider: 'cloudflare' }
const lifecycle = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')).remoteAccess.lifecycle

describe('restore on restart', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`starts the tunnel again after latchkey was stopped with ${signal}`, async () => {
      const dataDir = tempDir('lk-restore-')
      const dirs = newDirs()
      h = await startHarness({ dataDir, dirs, settings: quickSettings({ lifecycle: { rememberLastRunning: true } }) })
      await h.api('POST', '/remote/tunnel/start')
      const first = await h.waitState('running')
      expect(lifecycle(dataDir)).toMatchObject({ wasRunningOnShutdown: true, lastRunningProvider: 'cloudflare' })
      await h.stop(signal)
      h = await startHarness({ dataDir, dirs })
      const again = await h.waitState('running')
      expect(again.restore).toMatchObject({ outcome: 'applied', reason: 'restore_started', provider: 'cloudflare' })
      expect(again.url).not.toBe(first.url) // a new quick tunnel
      await waitUntil(() => livePids(dirs.cfRecords).length === 1, 5000, 'exactly one tunnel process')
    })
  }

  const skips: [string, Record<string, unknown>, Record<string, string>?][] = [
    ['remote_access_disabled', remote({ enabled: false, activeProvider: 'cloudflare', lifecycle: marker })],
    ['remember_last_running_disabled', quickSettings({ lifecycle: { ...marker, rememberLastRunning: false } })],
    ['no_prior_running_marker', quickSettings({ lifecycle: { ...marker, wasRunningOnShutdown: false, lastRunningProvider: null } })],
    ['provider_missing', remote({ enabled: true, activeProvider: null, lifecycle: { ...marker, lastRunningProvider: null } })],
    ['provider_not_enabled', remote({ enabled: true, activeProvider: 'cloudflare', lifecycle: marker })],
    ['provider_not_configured', remote({ enabled: true, activeProvider: 'cloudflare', providers: { cloudflare: { enabled: true } }, lifecycle: marker })],
    ['runtime_prerequisite_missing', quickSettings({ lifecycle: marker }), { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }],
  ]
  for (const [reason, settings, env] of skips) {
    it(`skips with ${reason} and clears the stale markers`, async () => {
      h = await startHarness({ settings, env })
      const st = await h.waitState((s) => s.restore.reason !== 'not_attempted')
      expect(st.restore).toMatchObject({ outcome: 'skipped', reason })
      expect(st.state).toBe('stopped')
      expect(lifecycle(h.dataDir)).toMatchObject({ wasRunningOnShutdown: false, lastRunningProvider: null })
      expect(livePids(h.cfRecords)).toEqual([])
    })
  }

  it('reports restore_start_failed when the restored tunnel fails, and does not retry', async () => {
    h = await startHarness({ settings: quickSettings({ lifecycle: marker }), env: { FAKE_CLOUDFLARED_MODE: 'fail' } })
    const st = await h.waitState((s) => s.restore.outcome === 'failed')
    expect(st.restore).toMatchObject({ reason: 'restore_start_failed', provider: 'cloudflare' })
    expect(st.restore.message).toContain('failed to request quick Tunnel')
    expect(st.state).toBe('failed')
    expect(lifecycle(h.dataDir)).toMatchObject({ wasRunningOnShutdown: false, lastRunningProvider: null })
  })

  it('stops a tunnel process a killed latchkey left behind (pid registry)', async () => {
    const dataDir = tempDir('lk-reap-')
    const dirs = newDirs()
    h = await startHarness({ dataDir, dirs, settings: quickSettings() })
    await h.api('POST', '/remote/tunnel/start')
    const { pid } = await h.waitState('running')
    // Kill the watchdog first, so only the registry can stop the orphan.
    const watchdog = findWatchdog(pid)
    expect(watchdog).not.toBeNull()
    process.kill(watchdog!, 'SIGKILL')
    await h.stop('SIGKILL')
    await Bun.sleep(1500)
    expect(livePids(dirs.cfRecords)).toEqual([pid]) // orphaned, still serving
    h = await startHarness({ dataDir, dirs })
    await waitUntil(() => livePids(dirs.cfRecords).length === 0, 5000, 'the leftover tunnel to be stopped')
    await h.lk.waitFor(new RegExp(`stopped tunnel processes left by an earlier latchkey pids=${pid}\\b`), 3000)
  })

  it('the watchdog stops the tunnel soon after latchkey is killed', async () => {
    h = await startHarness({ settings: quickSettings() })
    await h.api('POST', '/remote/tunnel/start')
    const { pid } = await h.waitState('running')
    const dirs = h.cfRecords
    await h.stop('SIGKILL')
    h = null
    await waitUntil(() => livePids(dirs).length === 0, 5000, 'the watchdog to stop the tunnel')
    await waitUntil(() => findWatchdog(pid) === null, 4000, 'the watchdog to exit')
  })

  it('a manual stop clears the markers (runbook §3.2)', async () => {
    h = await startHarness({ settings: quickSettings({ lifecycle: { rememberLastRunning: true } }) })
    await h.api('POST', '/remote/tunnel/start')
    await h.waitState('running')
    expect(lifecycle(h.dataDir).wasRunningOnShutdown).toBe(true)
    await h.api('POST', '/remote/tunnel/stop')
    expect(lifecycle(h.dataDir)).toMatchObject({ wasRunningOnShutdown: false, lastRunningProvider: null })
  })
})

/** The watchdog `sh` of tunnel `pgid` (process-group.ts), from /proc. */
function findWatchdog(pgid: number): number | null {
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')
      if (argv.includes('latchkey-tunnel-watchdog') && argv.includes(String(pgid))) return Number(name)
    } catch {}
  }
  return null
}
