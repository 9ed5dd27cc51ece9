/**
 * A WebSocket client that stays open across a reload, run inside a peer's namespace:
 * `bun ws-hold.ts <url> <token>`. It sends "before" once open and prints each message as a
 * line; on a line "again" on stdin it sends "after" on the same socket, and exits once that
 * echo (or a close, or an error) comes back.
 */
const [url, token] = process.argv.slice(2)
const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as any)
const say = (what: unknown) => console.log(JSON.stringify(what))
setTimeout(() => (say({ error: 'timeout' }), process.exit(0)), 60_000)
ws.onopen = () => {
  say({ open: true })
  ws.send('before')
}
ws.onmessage = (e) => {
  say({ text: String(e.data) })
  if (String(e.data) === 'echo:after') process.exit(0)
}
ws.onclose = (e) => (say({ closed: e.code }), process.exit(0))
ws.onerror = () => (say({ error: 'error' }), process.exit(0))
process.stdin.on('data', (d) => {
  if (String(d).includes('again')) ws.send('after')
})

export {}
