/**
 * A strict reader of the Prometheus text format 0.0.4 for tests
 * (https://prometheus.io/docs/instrumenting/exposition_formats/, "Text format details"):
 * it throws, naming the line, on anything a Prometheus server would refuse or misread —
 * bad names, unknown escapes, a TYPE after its samples, interleaved families, a repeated
 * series, histogram buckets that are not cumulative or lack +Inf, a missing final line feed.
 * Note: the one npm parser (parse-prometheus-text-format) merges the buckets of labelled
 * histograms into one object, which would hide exactly the per-app series tested here.
 */

export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface PromFamily {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string | null
  samples: PromSample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const FLOAT = /^[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

class ParseError extends Error {
  constructor(line: number, text: string, why: string) {
    super(`Invalid exposition at line ${line} (${JSON.stringify(text)}): ${why}`)
  }
}

/** The family a sample name belongs to, given the TYPE lines seen so far. */
function familyOf(name: string, types: Map<string, PromFamily['type']>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue
    const base = name.slice(0, -suffix.length)
    const type = types.get(base)
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base
  }
  return name
}

/** HELP text knows two escapes, `\\\\` and `\\n`. */
function unescapeHelp(text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      out += text[i]
      continue
    }
    const next = text[++i]
    if (next === 'n') out += '\n'
    else if (next === '\\') out += '\\'
    else throw new Error(`unknown escape "\\${next ?? ''}" in HELP`)
  }
  return out
}

function parseValue(text: string): number {
  if (!FLOAT.test(text)) throw new Error(`"${text}" is not a float`)
  if (/Inf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  return text.endsWith('NaN') ? NaN : Number(text)
}

/** Labels from just after `{` to the closing `}`; returns them and the index after `}`. */
function parseLabels(line: string, start: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {}
  let i = start
  for (;;) {
    if (line[i] === '}') return [labels, i + 1]
    const eq = line.indexOf('=', i)
    if (eq === -1) throw new Error('label without "="')
    const name = line.slice(i, eq).trim()
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}"`)
    if (name in labels) throw new Error(`label "${name}" repeated`)
    if (line[eq + 1] !== '"') throw new Error(`label "${name}" value is not quoted`)
    let value = ''
    let j = eq + 2
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] !== '\\') {
        value += line[j]
        continue
      }
      const next = line[++j]
      if (next === 'n') value += '\n'
      else if (next === '\\' || next === '"') value += next
      else throw new Error(`unknown escape "\\${next}" in label "${name}"`)
    }
    if (j >= line.length) throw new Error(`label "${name}" value is not closed`)
    labels[name] = value
    i = j + 1
    if (line[i] === ',') i++
    else if (line[i] !== '}') throw new Error(`expected "," or "}" after label "${name}"`)
  }
}

/** Parse and check a whole exposition; returns its families by name. */
export function parseExposition(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('Invalid exposition: the last line must end with a line feed')
  const families = new Map<string, PromFamily>()
  const types = new Map<string, PromFamily['type']>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let current: string | null = null
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) families.set(name, (f = { name, type: 'untyped', help: null, samples: [] }))
    return f
  }
  const enter = (name: string, n: number, line: string) => {
    if (current === name) return
    if (closed.has(name)) throw new ParseError(n, line, `family "${name}" appears twice (interleaved)`)
    if (current !== null) closed.add(current)
    current = name
  }
  const lines = text.split('\n')
  lines.pop()
  lines.forEach((line, index) => {
    const n = index + 1
    if (line.trim() === '') return
    try {
      const meta = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line)
      if (meta) {
        const [, kind, name, rest = ''] = meta
        if (!METRIC_NAME.test(name)) throw new Error(`bad metric name "${name}"`)
        enter(name, n, line)
        const f = family(name)
        if (kind === 'HELP') {
          if (f.help !== null) throw new Error('second HELP')
          f.help = unescapeHelp(rest)
        } else {
          if (types.has(name)) throw new Error('second TYPE')
          if (f.samples.length > 0) throw new Error('TYPE after samples')
          if (!TYPES.has(rest.trim())) throw new Error(`unknown type "${rest}"`)
          f.type = rest.trim() as PromFamily['type']
          types.set(name, f.type)
        }
        return
      }
      if (line.startsWith('#')) return
      const nameEnd = line.search(/[{\s]/)
      if (nameEnd <= 0) throw new Error('no value')
      const name = line.slice(0, nameEnd)
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name "${name}"`)
      let labels: Record<string, string> = {}
      let rest = line.slice(nameEnd)
      if (rest.startsWith('{')) {
        const [parsed, after] = parseLabels(line, nameEnd + 1)
        labels = parsed
        rest = line.slice(after)
      }
      const parts = rest.trim().split(/\s+/)
      if (!/^\s/.test(rest) || parts.length < 1 || parts.length > 2) throw new Error('expected a value and an optional timestamp')
      const value = parseValue(parts[0])
      if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error('bad timestamp')
      const base = familyOf(name, types)
      enter(base, n, line)
      const key = name + JSON.stringify(Object.entries(labels).sort())
      if (series.has(key)) throw new Error('series repeated')
      series.add(key)
      const f = family(base)
      if (f.type === 'counter' && !(value >= 0)) throw new Error('a counter must be a number >= 0')
      if (name.endsWith('_bucket') && f.type === 'histogram' && !('le' in labels)) throw new Error('bucket without "le"')
      f.samples.push({ name, labels, value })
    } catch (err) {
      if (err instanceof ParseError) throw err
      throw new ParseError(n, line, (err as Error).message)
    }
  })
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f)
  return families
}

/** Buckets cumulative in `le` order, ending in +Inf equal to _count, per label set. */
function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { buckets: [] }))
    if (s.name === `${f.name}_bucket`) g.buckets.push([parseValue(le), s.value])
    else if (s.name === `${f.name}_count`) g.count = s.value
    else if (s.name === `${f.name}_sum`) g.sum = s.value
    else throw new Error(`Invalid exposition: "${s.name}" in histogram "${f.name}"`)
  }
  for (const [key, g] of groups) {
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0])
    if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`Invalid exposition: histogram "${f.name}" ${key} has no +Inf bucket`)
    for (let i = 1; i < sorted.length; i++) if (sorted[i][1] < sorted[i - 1][1]) throw new Error(`Invalid exposition: histogram "${f.name}" ${key} buckets are not cumulative`)
    if (g.count === undefined || g.sum === undefined) throw new Error(`Invalid exposition: histogram "${f.name}" ${key} lacks _count or _sum`)
    if (sorted.at(-1)![1] !== g.count) throw new Error(`Invalid exposition: histogram "${f.name}" ${key} +Inf bucket differs from _count`)
  }
}

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none; throws for several). */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  const hits: PromSample[] = []
  for (const f of families.values()) for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) hits.push(s)
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return hits[0]?.value ?? 0
}
