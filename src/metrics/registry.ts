/**
 * A small metrics registry: families registered once, rendered in order as the Prometheus
 * text format. It knows nothing of latchkey (latchkey-metrics.ts says what is counted).
 */
import { Collected, Counter, Histogram, type Family, type Sample } from './families.ts'

/** Label sets kept per family before the rest share one `_other` series. */
export const DEFAULT_MAX_SERIES = 1000

export class Registry {
  #families: Family[] = []
  #names = new Set<string>()

  counter(name: string, help: string, labelNames: readonly string[] = [], maxSeries = DEFAULT_MAX_SERIES): Counter {
    return this.#add(new Counter(name, help, labelNames, maxSeries))
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[], maxSeries = DEFAULT_MAX_SERIES): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets, maxSeries))
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, labelNames: readonly string[], read: () => Iterable<Sample>): void {
    this.#add(new Collected(name, help, 'gauge', labelNames, read))
  }

  /** A counter kept elsewhere (a queue's own tally), read at scrape time. */
  collectedCounter(name: string, help: string, labelNames: readonly string[], read: () => Iterable<Sample>): void {
    this.#add(new Collected(name, help, 'counter', labelNames, read))
  }

  /** Every family, in the order registered. */
  render(): string {
    let out = ''
    for (const f of this.#families) out += f.render()
    return out
  }

  #add<F extends Family>(family: F): F {
    if (this.#names.has(family.name)) throw new TypeError(`Metric "${family.name}" is registered twice`)
    this.#names.add(family.name)
    this.#families.push(family)
    return family
  }
}
