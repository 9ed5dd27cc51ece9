/**
 * A tunnel child never outlives latchkey (DESIGN.md, "Things that are easy to get wrong"):
 * a fake quick tunnel (test/fakes/bin/cloudflared) is started, latchkey is killed with SIGKILL
 * — while the tunnel is running, and at a random moment while it is still starting — and within
 * a few seconds no process of the tunnel's process group is left, checked by pid in /proc.
 */
import { afterEach, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { alive, livePids, quickSettings, records, startHarness, waitUntil, type Harness } from '../tunnels/helpers.ts'

setDefaultTimeout(30_000)

let h: Harness | null = null
const started: number[] = []
afterEach(async () => {
  await h?.stop('SIGKILL')
  h = null
  // Never leave a fake behind, even when an assertion failed.
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
})

/** Live processes (not zombies) whose process group is `pgid`, from /proc/<pid>/stat. */
function groupMembers(pgid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (rest[0] !== 'Z' && Number(rest[2]) === pgid) out.push(Number(name))
    } catch {}
  }
  return out
}

describe('tunnel children after latchkey is killed', () => {
  it('stops a running quick tunnel within a few seconds of SIGKILL', async () => {
    h = await startHarness({ settings: quickSettings() })
    const cf = h.cfRecords
    expect((await h.api('POST', '/remote/tunnel/start')).status).toBe(202)
    const { pid, url } = await h.waitState('running')
    started.push(pid)
    expect(url).toMatch(/^https:\/\/.+\.trycloudflare\.com$/)
    expect(groupMembers(pid)).toContain(pid) // the tunnel leads its own group
    const killedAt = Date.now()
    await h.stop('SIGKILL')
    h = null
    await waitUntil(() => !alive(pid) && groupMembers(pid).length === 0, 5000, `tunnel ${pid} and its group to be gone`)
    expect(livePids(cf)).toEqual([])
    console.log(`tunnel ${pid} gone ${Date.now() - killedAt} ms after SIGKILL`)
  })

  it('stops a tunnel that was still starting when latchkey was killed at a random moment', async () => {
    for (let round = 0; round < 3; round++) {
      // A slow fake: the URL appears after 600 ms, so the kill lands while it is starting.
      h = await startHarness({ settings: quickSettings(), env: { FAKE_CLOUDFLARED_READY_DELAY_MS: '600' } })
      const cf = h.cfRecords
      const proc = h.lk.proc
      const start = h.api('POST', '/remote/tunnel/start').catch(() => null)
      // Wait until the fake has recorded its start, then kill 0-300 ms later.
      await waitUntil(() => records(cf).length > 0, 5000, 'the fake cloudflared to start')
      await Bun.sleep(Math.random() * 300)
      proc.kill('SIGKILL')
      await start
      await h.stop('SIGKILL')
      h = null
      const pids = records(cf).map((r) => r.pid)
      started.push(...pids)
      expect(pids.length).toBe(1)
      await waitUntil(() => pids.every((p) => !alive(p) && groupMembers(p).length === 0), 5000, `tunnel ${pids} to be gone (round ${round + 1})`)
    }
  })
})
