/**
 * Bodies stream through the app proxy: 100 MB down and up from a real remote peer with
 * latchkey's memory flat, and Server-Sent Events arriving one by one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../../helpers/latchkey.ts'
import { createPeer, type Peer } from '../../helpers/netns.ts'
import { startUpstream, type Upstream } from './upstream.ts'
import { appPort, execIn, rssMb, watchRss } from './peer-tools.ts'

const MB = 1024 * 1024
let up: Upstream
let peer: Peer
let lk: Latchkey
let base: string

beforeAll(async () => {
  up = startUpstream()
  peer = createPeer()
  lk = await startLatchkey({
    args: ['--host', '0.0.0.0'],
    yaml: `apps:\n  - name: files\n    target: ${up.url}\n    port: 0\n`,
  })
  base = `http://${peer.hostAddress}:${await appPort(lk, 'files')}`
})

afterAll(async () => {
  await lk?.stop()
  peer?.destroy()
  await up?.stop()
})

const auth = () => ['-H', `Authorization: Bearer ${lk.token}`]

describe('app proxy streaming', () => {
  it('streams a 100 MB download to a remote peer without growing its memory', async () => {
    // Warm up (JIT, buffers) so the baseline is the steady state.
    await execIn(peer.ns, ['curl', '-sS', '-o', '/dev/null', ...auth(), `${base}/download?mb=8`])
    const before = rssMb(lk.proc.pid!)
    const watch = watchRss(lk.proc.pid!)
    const r = await execIn(peer.ns, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '--limit-rate', '200M', ...auth(), `${base}/download?mb=100`])
    const peak = watch.stop()
    expect(r.stdout).toBe(`200 ${100 * MB}`)
    // Buffering the body whole would add at least 100 MB; streaming stays well under 60.
    expect(peak - before).toBeLessThan(60)
  })

  it('streams a 100 MB upload from a remote peer without growing its memory', async () => {
    await execIn(peer.ns, ['sh', '-c', `head -c ${8 * MB} /dev/zero | curl -sS -T - -X POST -H 'Authorization: Bearer ${lk.token}' ${base}/upload`])
    const before = rssMb(lk.proc.pid!)
    const watch = watchRss(lk.proc.pid!)
    const r = await execIn(peer.ns, ['sh', '-c', `head -c ${100 * MB} /dev/zero | curl -sS -T - -X POST -H 'Authorization: Bearer ${lk.token}' ${base}/upload`])
    const peak = watch.stop()
    expect(JSON.parse(r.stdout)).toEqual({ bytes: 100 * MB })
    expect(peak - before).toBeLessThan(60)
  })

  it('delivers Server-Sent Events one by one as the app sends them', async () => {
    const arrivals: number[] = []
    const started = performance.now()
    const r = await execIn(peer.ns, ['curl', '-sS', '-N', ...auth(), `${base}/sse?n=5&gap=300`], {
      onLine: (line, at) => {
        if (line.startsWith('data: ')) arrivals.push(at - started)
      },
    })
    expect(r.status).toBe(0)
    expect(arrivals.length).toBe(5)
    // Each event arrives about 300 ms after the previous one, not all together at the end.
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i] - arrivals[i - 1]).toBeGreaterThan(150)
    expect(arrivals[4] - arrivals[0]).toBeGreaterThan(900)
  })
})
