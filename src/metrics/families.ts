/**
 * The three kinds of metric family latchkey keeps: counters and histograms that the code
 * moves as things happen (a cell per label set, found once and then only incremented), and
 * families read at scrape time from what latchkey already knows (sessions, tunnel, apps),
 * which cost nothing between scrapes.
 */
import { checkNames, familyHeader, formatValue, labelSet } from './exposition.ts'

/** What the registry renders: a header, then one line per sample. */
export interface Family {
  readonly name: string
  render(): string
}

/** The label value that stands for every label set past a family's cap. */
export const OVERFLOW = '_other'

/** One counter series: `value` only ever grows. */
export class CounterCell {
  value = 0
  inc(by = 1): void {
    this.value += by
  }
}

/**
 * Series by label values, at most `maxSeries` of them: past that, new label sets share one
 * series whose every label is `_other`, so no input can grow the output without bound.
 */
abstract class Labelled<Cell> implements Family {
  #series = new Map<string, { values: readonly string[]; cell: Cell }>()

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[], readonly maxSeries: number) {
    checkNames(name, labelNames)
  }

  protected abstract create(): Cell
  abstract render(): string

  /** The cell for these label values (one per label name), created on first use. */
  labels(...values: string[]): Cell {
    if (values.length !== this.labelNames.length) throw new TypeError(`"${this.name}" takes ${this.labelNames.length} label values, not ${values.length}`)
    let key = values.join('\u0000')
    let entry = this.#series.get(key)
    if (!entry) {
      if (this.#series.size >= this.maxSeries) {
        values = values.map(() => OVERFLOW)
        key = values.join('\u0000')
        entry = this.#series.get(key)
      }
      // The overflow series itself may be the one past the cap.
      if (!entry) this.#series.set(key, (entry = { values, cell: this.create() }))
    }
    return entry.cell
  }

  protected series(): Iterable<{ values: readonly string[]; cell: Cell }> {
    return this.#series.values()
  }
}

export class Counter extends Labelled<CounterCell> {
  protected create(): CounterCell {
    return new CounterCell()
  }

  render(): string {
    let out = familyHeader(this.name, this.help, 'counter')
    // A counter with no labels exists from the start, at 0.
    if (this.labelNames.length === 0) this.labels()
    for (const { values, cell } of this.series()) out += `${this.name}${labelSet(this.labelNames, values)} ${formatValue(cell.value)}\n`
    return out
  }
}

/** One histogram series: a count per bucket (not cumulative: rendering adds them up), sum and count. */
export class HistogramCell {
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  observe(value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]) i++
    this.counts[i]++
    this.sum += value
    this.count++
  }
}

export class Histogram extends Labelled<HistogramCell> {
  readonly buckets: readonly number[]

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[], maxSeries: number) {
    super(name, help, labelNames, maxSeries)
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) {
      throw new TypeError(`"${name}" needs finite buckets in increasing order`)
    }
    this.buckets = [...buckets]
  }

  protected create(): HistogramCell {
    return new HistogramCell(this.buckets)
  }

  render(): string {
    let out = familyHeader(this.name, this.help, 'histogram')
    for (const { values, cell } of this.series()) {
      let cumulative = 0
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += cell.counts[i]
        const le = i < this.buckets.length ? formatValue(this.buckets[i]) : '+Inf'
        out += `${this.name}_bucket${labelSet(this.labelNames, values, ['le', le])} ${cumulative}\n`
      }
      const labels = labelSet(this.labelNames, values)
      out += `${this.name}_sum${labels} ${formatValue(cell.sum)}\n${this.name}_count${labels} ${cell.count}\n`
    }
    return out
  }
}

/** One sample of a family read at scrape time: its label values (in order) and value. */
export type Sample = readonly [values: readonly string[], value: number]

/** A gauge or counter whose samples are read when scraped. */
export class Collected implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    readonly labelNames: readonly string[],
    private readonly read: () => Iterable<Sample>,
  ) {
    checkNames(name, labelNames)
  }

  render(): string {
    let out = familyHeader(this.name, this.help, this.type)
    for (const [values, value] of this.read()) out += `${this.name}${labelSet(this.labelNames, values)} ${formatValue(value)}\n`
    return out
  }
}
