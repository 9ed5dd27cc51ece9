/** Runtime.countingStream: Bun's direct stream and the portable one Deno uses behave alike. */
import { describe, expect, it } from 'bun:test'
import { runtime } from '../../src/runtime/index.ts'
import { countingStream as portable } from '../../src/runtime/portable.ts'

const chunks = (sizes: number[], gapMs = 0) => {
  let i = 0
  let cancelled: unknown = 'no'
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      // A slow source (like an app still sending) cannot have ended before the reader cancels.
      if (gapMs) await new Promise((r) => setTimeout(r, gapMs))
      if (i < sizes.length) c.enqueue(new Uint8Array(sizes[i++]).fill(97))
      else c.close()
    },
    cancel(reason) {
      cancelled = reason
    },
  })
  return { stream, cancelled: () => cancelled }
}

for (const [name, counting] of [[`runtime (${runtime.name})`, runtime.countingStream], ['portable', portable]] as const) {
  describe(`countingStream: ${name}`, () => {
    it('passes every byte through and reports the total once', async () => {
      const done: number[] = []
      const src = chunks([1000, 0, 65536, 7])
      const text = await new Response(counting(src.stream, (n) => done.push(n))).arrayBuffer()
      expect(text.byteLength).toBe(66543)
      expect(done).toEqual([66543])
    })

    it('reports what was sent so far and cancels the source when the reader cancels', async () => {
      const done: number[] = []
      const src = chunks(Array(100).fill(10), 5)
      const reader = counting(src.stream, (n) => done.push(n)).getReader()
      await reader.read()
      await reader.cancel('gone')
      expect(done.length).toBe(1)
      expect(done[0]).toBeGreaterThanOrEqual(10)
      expect(src.cancelled()).toBe('gone')
    })

    it('reports the bytes once when the source fails', async () => {
      const done: number[] = []
      let n = 0
      const failing = new ReadableStream<Uint8Array>({
        pull(c) {
          if (n++ === 0) c.enqueue(new Uint8Array(5))
          else c.error(new Error('upstream reset'))
        },
      })
      await expect(new Response(counting(failing, (b) => done.push(b))).arrayBuffer()).rejects.toThrow()
      expect(done).toEqual([5])
    })
  })
}
