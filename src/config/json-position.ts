/**
 * Finds where JSON text stops being valid, as a line and column, because JSC's JSON.parse
 * errors carry no position (V8's do, but the two runtimes must agree).
 */
export interface JsonProblem {
  line: number
  column: number
  message: string
}

/** How deep objects and arrays may nest, in settings.json and API bodies: far past anything latchkey reads, far short of the stack. */
export const MAX_JSON_DEPTH = 64

/** Where JSON text stops being valid, or null when it is valid. */
export function findJsonError(text: string): JsonProblem | null {
  try {
    scan(text)
    return null
  } catch (err: any) {
    return { ...positionOf(text, err.offset ?? 0), message: err.message }
  }
}

/**
 * Line and column where the value at `path` starts in valid JSON text (keys, and indexes of
 * arrays), or where its deepest ancestor present starts: where a field-level error points.
 */
export function locateJsonPath(text: string, path: readonly (string | number)[]): { line: number; column: number } {
  let best = { depth: -1, offset: 0 }
  try {
    scan(text, (at, offset) => {
      if (at.length <= best.depth || at.length > path.length) return
      for (let k = 0; k < at.length; k++) if (String(at[k]) !== String(path[k])) return
      best = { depth: at.length, offset }
    })
  } catch {}
  return positionOf(text, best.offset)
}

/**
 * Walks JSON text, throwing an Error with `offset` where it stops being valid. `onValue`,
 * when given, hears the path and start offset of every value.
 */
function scan(text: string, onValue?: (path: readonly (string | number)[], offset: number) => void): void {
  let i = 0
  const path: (string | number)[] = []
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++
  }
  const fail = (message: string): never => {
    throw Object.assign(new Error(message), { offset: i })
  }
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length
    else fail('unexpected token')
  }
  const string = () => {
    i++
    while (i < text.length) {
      const c = text[i]
      if (c === '"') return void i++
      if (c === '\\') {
        i++
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad unicode escape')
          i += 5
          continue
        }
        if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail('bad escape in string')
        i++
        continue
      }
      if (c < ' ') fail('control character in string')
      i++
    }
    fail('unterminated string')
  }
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (!m) fail('bad number')
    i += m![0].length
  }
  const value = (depth: number): void => {
    ws()
    onValue?.(path, i)
    const c = text[i]
    if ((c === '{' || c === '[') && depth >= MAX_JSON_DEPTH) fail(`objects and arrays nested more than ${MAX_JSON_DEPTH} deep`)
    if (c === '{') {
      i++
      ws()
      if (text[i] === '}') return void i++
      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected a quoted key')
        const keyStart = i
        string()
        if (onValue) path.push(JSON.parse(text.slice(keyStart, i)))
        ws()
        if (text[i] !== ':') fail('expected ":" after a key')
        i++
        value(depth + 1)
        if (onValue) path.pop()
        ws()
        if (text[i] === ',') { i++; continue }
        if (text[i] === '}') return void i++
        fail('expected "," or "}"')
      }
    }
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') return void i++
      for (let index = 0; ; index++) {
        if (onValue) path.push(index)
        value(depth + 1)
        if (onValue) path.pop()
        ws()
        if (text[i] === ',') { i++; continue }
        if (text[i] === ']') return void i++
        fail('expected "," or "]"')
      }
    }
    if (c === '"') return string()
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    if (c === '-' || (c >= '0' && c <= '9')) return number()
    fail(c === undefined ? 'unexpected end of file' : 'unexpected token')
  }
  value(0)
  ws()
  if (i < text.length) fail('unexpected text after the end')
}

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1
  let last = -1
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++
      last = k
    }
  }
  return { line, column: offset - last }
}
