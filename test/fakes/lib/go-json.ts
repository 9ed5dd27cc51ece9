// JSON the way Go's encoding/json writes it: MarshalIndent/Encoder with an indent string, and the
// default HTML escaping of <, >, & (and U+2028/U+2029) as \u003c, \u003e, \u0026.
export function goJson(value: unknown, indent: string): string {
  return JSON.stringify(value, null, indent)
    .replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Copies an object with its keys sorted, as Go does for map[string]T. */
export function sortedMap<T, U>(m: Record<string, T> | undefined, f: (v: T) => U): Record<string, U> | undefined {
  if (!m || Object.keys(m).length === 0) return undefined;
  const out: Record<string, U> = {};
  for (const k of Object.keys(m).sort()) out[k] = f(m[k]!);
  return out;
}
