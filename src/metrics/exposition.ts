/**
 * The Prometheus text exposition format, version 0.0.4: names, escaping and numbers.
 * https://prometheus.io/docs/instrumenting/exposition_formats/ ("Text format details").
 */

/** What GET /metrics answers with (a missing version would mean "the newest format"). */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Throws for a name the format cannot carry (a bug in latchkey, never user input). */
export function checkNames(name: string, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw new TypeError(`Invalid metric name "${name}"`)
  for (const label of labelNames) {
    // Names starting with __ are reserved for Prometheus itself; `le` belongs to histograms.
    if (!LABEL_NAME.test(label) || label.startsWith('__') || label === 'le') throw new TypeError(`Invalid label name "${label}" on "${name}"`)
  }
  if (new Set(labelNames).size !== labelNames.length) throw new TypeError(`Repeated label name on "${name}"`)
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value
}

/** HELP text escapes backslash and line feed (a double quote stays as it is). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))
}

/** A sample value as Go's ParseFloat reads it: `+Inf`, `-Inf`, `NaN`, else the number. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

/** `{a="x",b="y"}` for these names and values, or '' when there are none. */
export function labelSet(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  if (names.length === 0 && !extra) return ''
  const parts: string[] = []
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? '')}"`)
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`)
  return `{${parts.join(',')}}`
}

/** The `# HELP` and `# TYPE` lines of a family. */
export function familyHeader(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`
}
