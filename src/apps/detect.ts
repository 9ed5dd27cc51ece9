/**
 * "Detected on this machine": TCP ports listening on loopback (or on every interface, which
 * includes loopback), from /proc/net/tcp and tcp6 on Linux and `lsof` on macOS, each with
 * the page title it answers with, so the operator can expose one with a click.
 */
import { readFileSync } from 'node:fs'
import { execFile } from 'node:child_process'

export interface Listening {
  address: string
  port: number
}

export interface DetectedPort extends Listening {
  /** The <title> of the page at http://127.0.0.1:<port>/, when one answers. */
  title: string | null
  /** Whether something answered HTTP there at all. */
  http: boolean
}

const LISTEN = '0A'

/** IPv4 in /proc is the 32-bit value in host byte order (little-endian here). */
function ipv4FromHex(hex: string): string {
  const n = parseInt(hex, 16)
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.')
}

/** IPv6 in /proc is four 32-bit words, each in host byte order. */
function ipv6FromHex(hex: string): string {
  const bytes: number[] = []
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8)
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16))
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return `::ffff:${bytes.slice(12).join('.')}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16))
  const full = groups.join(':')
  if (full === '0:0:0:0:0:0:0:0') return '::'
  if (full === '0:0:0:0:0:0:0:1') return '::1'
  return full
}

/** Parse the text of /proc/net/tcp or /proc/net/tcp6 into listening sockets. */
export function parseProcNetTcp(text: string): Listening[] {
  const out: Listening[] = []
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols.length < 4 || cols[3] !== LISTEN) continue
    const [addr, port] = cols[1].split(':')
    out.push({ address: addr.length === 8 ? ipv4FromHex(addr) : ipv6FromHex(addr), port: parseInt(port, 16) })
  }
  return out
}

/** Parse `lsof -nP -iTCP -sTCP:LISTEN -Fn` output (lines like `n127.0.0.1:8888`, `n*:3000`, `n[::1]:5173`). */
export function parseLsof(text: string): Listening[] {
  const out: Listening[] = []
  for (const line of text.split('\n')) {
    const m = /^n(.*):(\d+)$/.exec(line.trim())
    if (!m) continue
    const host = m[1] === '*' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, '')
    out.push({ address: host, port: Number(m[2]) })
  }
  return out
}

/** Reachable on 127.0.0.1 or ::1: loopback, or bound to every interface. */
export function reachableOnLoopback(address: string): boolean {
  const a = address.replace(/^::ffff:/, '')
  return a === '0.0.0.0' || a === '::' || a === '::1' || a.startsWith('127.')
}

/** Every listening socket reachable on loopback, one per port, sorted by port. */
export async function listLoopbackListeners(platform = process.platform): Promise<Listening[]> {
  let all: Listening[] = []
  if (platform === 'linux') {
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      try {
        all.push(...parseProcNetTcp(readFileSync(file, 'utf8')))
      } catch {
        // tcp6 is missing when IPv6 is off.
      }
    }
  } else if (platform === 'darwin') {
    const text = await new Promise<string>((resolve) =>
      execFile('lsof', ['-nP', '-iTCP', '-sTCP:LISTEN', '-Fn'], { timeout: 5000 }, (_err, stdout) => resolve(String(stdout ?? ''))),
    )
    all = parseLsof(text)
  }
  const byPort = new Map<number, Listening>()
  for (const l of all) if (reachableOnLoopback(l.address) && !byPort.has(l.port)) byPort.set(l.port, l)
  return [...byPort.values()].sort((a, b) => a.port - b.port)
}

/** The page title at http://127.0.0.1:<port>/ (first 64 KB only), or null. */
export async function pageTitle(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<{ http: boolean; title: string | null }> {
  try {
    const res = await fetch(`http://${host}:${port}/`, { redirect: 'follow', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/html', 'user-agent': 'latchkey-detect' } })
    if (!/html/i.test(res.headers.get('content-type') ?? '') || !res.body) {
      void res.body?.cancel().catch(() => {})
      return { http: true, title: null }
    }
    const reader = res.body.getReader()
    let html = ''
    const decoder = new TextDecoder()
    while (html.length < 65536) {
      const { done, value } = await reader.read()
      if (done) break
      html += decoder.decode(value, { stream: true })
      if (/<\/title>/i.test(html)) break
    }
    void reader.cancel().catch(() => {})
    const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)
    const title = m ? decodeEntities(m[1]).replace(/\s+/g, ' ').trim().slice(0, 200) : null
    return { http: true, title: title || null }
  } catch {
    return { http: false, title: null }
  }
}

function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", apos: "'" })[e]!)
}

/** Detect loopback listeners, minus `exclude` (latchkey's own ports), with their titles. */
export async function detectLocalApps(exclude: ReadonlySet<number>, opts: { timeoutMs?: number; max?: number } = {}): Promise<DetectedPort[]> {
  const ports = (await listLoopbackListeners()).filter((l) => !exclude.has(l.port)).slice(0, opts.max ?? 64)
  return Promise.all(ports.map(async (l) => ({ ...l, ...(await pageTitle(l.port, opts.timeoutMs ?? 1500, l.address === '::1' ? '[::1]' : '127.0.0.1')) })))
}
