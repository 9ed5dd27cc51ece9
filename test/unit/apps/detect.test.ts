import { describe, expect, it } from 'bun:test'
import { detectLocalApps, parseLsof, parseProcNetTcp, reachableOnLoopback } from '../../../src/apps/detect.ts'

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:22B8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0102A8C0:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4 1 0000000000000000 100 0 0 10 0
`
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 6 1 0000000000000000 100 0 0 10 0
`

describe('parseProcNetTcp', () => {
  it('reads listening IPv4 sockets and skips established ones', () => {
    expect(parseProcNetTcp(TCP)).toEqual([
      { address: '127.0.0.1', port: 8888 },
      { address: '0.0.0.0', port: 22 },
      { address: '192.168.2.1', port: 8080 },
    ])
  })

  it('reads IPv6 loopback and IPv4-mapped addresses', () => {
    expect(parseProcNetTcp(TCP6)).toEqual([
      { address: '::1', port: 5173 },
      { address: '::ffff:127.0.0.1', port: 3000 },
    ])
  })
})

describe('parseLsof', () => {
  it('reads lsof -F n lines, wildcard included', () => {
    expect(parseLsof('p123\nf5\nn127.0.0.1:8888\nf6\nn*:3000\nn[::1]:5173\n')).toEqual([
      { address: '127.0.0.1', port: 8888 },
      { address: '0.0.0.0', port: 3000 },
      { address: '::1', port: 5173 },
    ])
  })
})

describe('reachableOnLoopback', () => {
  it('keeps loopback and wildcard binds, drops other interfaces', () => {
    expect(['127.0.0.1', '0.0.0.0', '::', '::1', '::ffff:127.0.0.1'].every(reachableOnLoopback)).toBe(true)
    expect(reachableOnLoopback('192.168.2.1')).toBe(false)
  })
})

describe('detectLocalApps', () => {
  it('finds a page listening on loopback with its title', async () => {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<html><head><title>My &amp; Notebook</title></head></html>', { headers: { 'content-type': 'text/html' } }) })
    try {
      const found = await detectLocalApps(new Set())
      expect(found.find((p) => p.port === server.port)).toEqual({ address: '127.0.0.1', port: server.port!, http: true, title: 'My & Notebook' })
      const excluded = await detectLocalApps(new Set([server.port!]))
      expect(excluded.some((p) => p.port === server.port)).toBe(false)
    } finally {
      server.stop(true)
    }
  })
})
