/** Seam parts written in web-standard JavaScript, for runtimes with nothing faster. */

/** Runtime.countingStream with a pull-based ReadableStream (one read upstream per read downstream). */
export function countingStream(body: ReadableStream<Uint8Array>, done: (bytes: number) => void): ReadableStream<Uint8Array> {
  let bytes = 0
  let finished = false
  const finish = () => {
    if (!finished) {
      finished = true
      done(bytes)
    }
  }
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
        bytes += value.byteLength
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
