/** Seam parts written in web-standard JavaScript, for runtimes with nothing faster. */

/** Adds up bytes and reports the total once, however the stream ends (done, error or cancel). */
export function byteTally(done: (bytes: number) => void): { add(n: number): void; finish(): void } {
  let bytes = 0
  let finished = false
  return {
    add: (n) => void (bytes += n),
    finish: () => {
      if (finished) return
      finished = true
      done(bytes)
    },
  }
}

/** Runtime.countingStream with a pull-based ReadableStream (one read upstream per read downstream). */
export function countingStream(body: ReadableStream<Uint8Array>, done: (bytes: number) => void): ReadableStream<Uint8Array> {
  const tally = byteTally(done)
  const finish = tally.finish
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read()
        if (end) {
          finish()
          controller.close()
          return
        }
        tally.add(value.byteLength)
        controller.enqueue(value)
      } catch (err) {
        finish()
        controller.error(err)
      }
    },
    cancel(reason) {
      finish()
      return reader.cancel(reason)
    },
  }, { highWaterMark: 0 })
}
