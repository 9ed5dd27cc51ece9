/** Send raw bytes over TCP and collect the reply: for requests no HTTP client will form. */
import { connect } from 'node:net'

export function rawHttp(port: number, text: string, host = '127.0.0.1', timeoutMs = 5000): Promise<{ status: number; raw: string }> {
  return new Promise((resolve, reject) => {
    let raw = ''
    const s = connect(port, host, () => s.write(text))
    const timer = setTimeout(() => s.destroy(), timeoutMs)
    s.on('data', (d) => (raw += d.toString('utf8')))
    s.on('error', reject)
    s.on('close', () => {
      clearTimeout(timer)
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0), raw })
    })
  })
}
