/**
 * A WebSocket client run inside a peer's namespace: `bun ws-client.ts <url> [token]`.
 * Sends one text and one binary frame and prints what came back as JSON.
 */
const [url, token] = process.argv.slice(2)
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
const ws = new WebSocket(url, { headers } as any)
ws.binaryType = 'arraybuffer'
const got: unknown[] = []
const done = (result: Record<string, unknown>) => {
  console.log(JSON.stringify(result))
  process.exit(0)
}
setTimeout(() => done({ error: 'timeout', got }), 5000)
ws.onopen = () => {
  ws.send('hello')
  ws.send(new Uint8Array([0, 1, 2, 250, 255]))
}
ws.onmessage = (e) => {
  got.push(typeof e.data === 'string' ? { text: e.data } : { binary: [...new Uint8Array(e.data as ArrayBuffer)] })
  if (got.length === 2) {
    ws.close(1000)
    done({ got })
  }
}
ws.onerror = () => done({ error: 'error', got })
