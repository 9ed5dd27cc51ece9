/**
 * The app proxy alone (npm run bench covers it too, among the other rows): small responses
 * through latchkey and through nginx (Debian's, one worker, upstream keepalive), in front of
 * the same upstream, at 64 and 400 connections, from a namespace peer, each row with its
 * errors and the server's CPU time per request (steadier than req/s on a shared machine).
 * `--baseline <dir>` also runs latchkey from another checkout (`git archive main | tar -x`),
 * and `--rounds N` repeats the phases interleaved, so an A/B on a noisy machine compares
 * rounds run side by side. Target: latchkey >= 0.75x nginx, no errors.
 *   bun scripts/bench/proxy.ts [--seconds 5] [--rounds 1] [--baseline /tmp/lk-main]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer } from '../../test/helpers/netns.ts'
import { BUN, startLatchkey, type Latchkey } from '../../test/helpers/latchkey.ts'
import { cpuSeconds, freePort, spawnServer, startNginx, stopChildren, workerPid, wrk, type WrkResult } from './lib.ts'

const argv = process.argv.slice(2)
const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
const seconds = Math.min(10, Number(opt('--seconds') ?? 5))
const rounds = Math.max(1, Number(opt('--rounds') ?? 1))
const baseline = opt('--baseline')
const TOKEN = 'bench-token-0123456789abcdefghij'

const peer = createPeer()
const dir = mkdtempSync(join(tmpdir(), 'lk-bench-'))
const latchkeys: Latchkey[] = []
try {
  const host = peer.hostAddress
  const upstreamPort = await freePort()
  const nginxPort = await freePort()
  await spawnServer([BUN, '-e', `
    Bun.serve({ hostname: '127.0.0.1', port: ${upstreamPort}, idleTimeout: 60, fetch: () => new Response('hello, world\\n') })
    console.log('up')`], /up/)
  const nginx = startNginx(dir, `${host}:${nginxPort}`, upstreamPort)
  const auth = [`Authorization: Bearer ${TOKEN}`]
  /** latchkey from this checkout, or from `root` run by this checkout's Bun. */
  const start = async (root?: string) => {
    let binary: string | undefined
    if (root) {
      binary = join(dir, `latchkey-${latchkeys.length}`)
      writeFileSync(binary, `#!/bin/sh\nexec ${BUN} ${join(root, 'src', 'main.ts')} "$@"\n`, { mode: 0o755 })
    }
    const lk = await startLatchkey({ binary, args: ['--host', host], env: { LATCHKEY_AUTH_TOKEN: TOKEN }, yaml: `apps:\n  - { name: bench, target: "http://127.0.0.1:${upstreamPort}", port: ${await freePort()} }\n` })
    latchkeys.push(lk)
    const apps = await (await fetch(`http://${host}:${lk.apiPort}/api/apps`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()
    return { pid: lk.proc.pid!, port: Number(apps.apps[0].port) }
  }
  const proxies = [{ label: 'nginx (1 worker)', port: nginxPort, pid: workerPid(nginx.pid!), headers: [] as string[] }]
  proxies.push({ label: 'latchkey', ...(await start()), headers: auth })
  if (baseline) proxies.push({ label: 'latchkey baseline', ...(await start(baseline)), headers: auth })

  console.log(`wrk -t2, ${seconds} s per phase, ${rounds} round(s), from ${peer.ns} (${peer.peerAddress}) to ${host}`)
  const row = (name: string, r: WrkResult & { cpuUs: number }, nginxRps?: number) => {
    const errors = r.errors ? `ERRORS ${r.errors} (non-2xx ${r.non2xx}, socket ${r.socketErrors}, timeout ${r.timeouts})` : 'errors 0'
    const ratio = nginxRps ? `  ${(r.rps / nginxRps).toFixed(2)}x nginx` : ''
    console.log(`${name.padEnd(30)} ${r.rps.toFixed(0).padStart(8)} req/s  p99 ${r.p99ms.toFixed(2).padStart(6)} ms  cpu ${r.cpuUs.toFixed(1).padStart(5)} µs/req  ${errors}${ratio}`)
  }
  for (let round = 1; round <= rounds; round++) {
    for (const connections of [64, 400]) {
      console.log(`\nround ${round}, c=${connections}`)
      let nginxRps: number | undefined
      for (const p of proxies) {
        const before = cpuSeconds(p.pid)
        const r = wrk(peer, `http://${host}:${p.port}/`, { seconds, connections, headers: p.headers })
        const measured = { ...r, cpuUs: ((cpuSeconds(p.pid) - before) * 1e6) / (r.requests || 1) }
        row(`${p.label} c=${connections}`, measured, nginxRps)
        nginxRps ??= r.rps
      }
    }
  }
} finally {
  for (const lk of latchkeys) await lk.stop().catch(() => {})
  await stopChildren()
  peer.destroy()
  rmSync(dir, { recursive: true, force: true })
}
