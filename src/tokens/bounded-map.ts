/**
 * A Map with a size limit that drops its oldest entry to make room. The token registry and
 * the guess limiter use it so memory stays flat however many tokens or addresses arrive.
 *
 * Note: it keeps insertion order in its own queue because `map.keys().next()` is not O(1)
 * after many deletions at the front (JavaScriptCore walks the deleted slots): evicting that
 * way made 100k token generations take seconds.
 */
export class BoundedMap<K, V> {
  #map = new Map<K, V>()
  #order: K[] = []
  #head = 0

  constructor(readonly max: number) {}

  get(key: K): V | undefined {
    return this.#map.get(key)
  }

  has(key: K): boolean {
    return this.#map.has(key)
  }

  /** Add or replace; a new key beyond `max` first drops the oldest entry. */
  set(key: K, value: V): void {
    if (!this.#map.has(key)) {
      if (this.#map.size >= this.max) this.shift()
      this.#order.push(key)
      if (this.#order.length > 2 * this.max + 1024) this.#compact()
    }
    this.#map.set(key, value)
  }

  delete(key: K): boolean {
    return this.#map.delete(key)
  }

  /** The oldest entry still present, without removing it. */
  oldest(): [K, V] | undefined {
    while (this.#head < this.#order.length) {
      const key = this.#order[this.#head]
      if (this.#map.has(key)) return [key, this.#map.get(key)!]
      this.#head++
    }
    return undefined
  }

  /** Remove and return the oldest entry. */
  shift(): [K, V] | undefined {
    const entry = this.oldest()
    if (entry) {
      this.#map.delete(entry[0])
      this.#head++
    }
    return entry
  }

  entries(): IterableIterator<[K, V]> {
    return this.#map.entries()
  }

  get size(): number {
    return this.#map.size
  }

  /** Drop queue slots of deleted (or re-added) keys; keeps the queue within ~2 × max. */
  #compact(): void {
    const seen = new Set<K>()
    const order: K[] = []
    for (let i = this.#head; i < this.#order.length; i++) {
      const key = this.#order[i]
      if (this.#map.has(key) && !seen.has(key)) seen.add(key), order.push(key)
    }
    this.#order = order
    this.#head = 0
  }
}
