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

export function findJsonError(text: string): JsonProblem | null {
  let i = 0
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
    const c = text[i]
    if ((c === '{' || c === '[') && depth >= MAX_JSON_DEPTH) fail(`objects and arrays nested more than ${MAX_JSON_DEPTH} deep`)
    if (c === '{') {
      i++
      ws()
      if (text[i] === '}') return void i++
      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected a quoted key')
        string()
        ws()
        if (text[i] !== ':') fail('expected ":" after a key')
        i++
        value(depth + 1)
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
      for (;;) {
        value(depth + 1)
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
  try {
    value(0)
    ws()
    if (i < text.length) fail('unexpected text after the end')
    return null
  } catch (err: any) {
    return { ...positionOf(text, err.offset ?? 0), message: err.message }
  }
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
