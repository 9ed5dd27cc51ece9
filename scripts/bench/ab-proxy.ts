/**
 * Interleaved A/B of the app proxy's CPU cost per request: two latchkeys from two source
 * trees (A: `--base DIR`, a checkout of the commit to compare with; B: this tree) front the
 * same upstream on 127.0.0.1; wrk from a namespace peer runs A, B, A, B… for `--rounds`
 * rounds, and each phase reads the serving process's CPU time. Rounds alternate so the
 * machine's other load falls on both alike; the medians are what to read. Note: run it both
 * ways round (from the other tree with `--base` this one): on the 2-core VM the latchkey
 * started second has measured a few % dearer whichever tree it was.
 *   bun scripts/bench/ab-proxy.ts --base /tmp/lk-base [--rounds 8] [--seconds 4]
 */
import { join } from 'node:path'
import { createPeer } from '../../test/helpers/netns.ts'
import { BUN, startLatchkey, type Latchkey } from '../../test/helpers/latchkey.ts'
import { cpuSeconds, freePort, spawnServer, stopChildren, wrk } from './lib.ts'

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback)
const base = arg('--base', '')
if (!base) throw new Error('Usage: bun scripts/bench/ab-proxy.ts --base DIR (a checkout of the commit to compare with)')
const rounds = Math.min(20, Number(arg('--rounds', '8')))
const seconds = Math.min(10, Number(arg('--seconds', '4')))
const TOKEN = 'bench-token-0123456789abcdefghij'

const peer = createPeer()
const running: Latchkey[] = []
try {
  const host = peer.hostAddress
  const upstreamPort = await freePort()
  await spawnServer([BUN, '-e', `Bun.serve({ hostname: '127.0.0.1', port: ${upstreamPort}, idleTimeout: 60, fetch: () => new Response('hello, world\\n', { headers: { 'content-type': 'text/plain' } }) }); console.log('up')`], /up/)
  const start = async (root: string) => {
    const appPort = await freePort()
    const { startLatchkey: startFrom } = root === '' ? { startLatchkey } : await import(join(root, 'test/helpers/latchkey.ts'))
    const lk: Latchkey = await startFrom({ args: ['--host', host], env: { LATCHKEY_AUTH_TOKEN: TOKEN }, yaml: `apps:\n  - { name: bench, target: "http://127.0.0.1:${upstreamPort}", port: ${appPort} }\n` })
    running.push(lk)
    return { pid: lk.proc.pid!, url: `http://${host}:${appPort}/` }
  }
  const a = await start(base)
  const b = await start('')
  const headers = [`Authorization: Bearer ${TOKEN}`]
  const phase = (s: { pid: number; url: string }) => {
    const before = cpuSeconds(s.pid)
    const r = wrk(peer, s.url, { seconds, headers })
    if (r.non2xx || r.errors) throw new Error(`errors in phase: ${JSON.stringify(r)}`)
    return { cpuUs: ((cpuSeconds(s.pid) - before) * 1e6) / (r.requests || 1), rps: r.rps }
  }
  // Warm both (JIT, keep-alive pools) before anything is counted.
  phase(a)
  phase(b)
  const cpu = { a: [] as number[], b: [] as number[] }
  const rps = { a: [] as number[], b: [] as number[] }
  for (let i = 0; i < rounds; i++) {
    for (const [name, s] of (i % 2 === 0 ? [['a', a], ['b', b]] : [['b', b], ['a', a]]) as ['a' | 'b', typeof a][]) {
      const r = phase(s)
      cpu[name].push(r.cpuUs)
      rps[name].push(r.rps)
    }
    console.log(`round ${i + 1}: A ${cpu.a.at(-1)!.toFixed(1)} µs/req ${rps.a.at(-1)!.toFixed(0)} req/s | B ${cpu.b.at(-1)!.toFixed(1)} µs/req ${rps.b.at(-1)!.toFixed(0)} req/s`)
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  console.log(`median CPU µs/req: A ${median(cpu.a).toFixed(1)}, B ${median(cpu.b).toFixed(1)} (B/A ${(median(cpu.b) / median(cpu.a)).toFixed(3)})`)
  console.log(`median req/s: A ${median(rps.a).toFixed(0)}, B ${median(rps.b).toFixed(0)}`)
} finally {
  for (const lk of running) await lk.stop()
  await stopChildren()
  peer.destroy()
}
