/**
 * A package loaded on its first use, synchronously, for code that is sync but rarely needs
 * the package (TypeBox for an invalid settings.json, yaml for a latchkey.yaml): a start that
 * does not need it never reads it. On Bun, `load` is a literal `require('pkg')`, which the
 * bundler turns into a chunk read at the call; Deno has no require() in a module, so it gets
 * node:module's createRequire.
 */
export function lazyModule<T>(specifier: string, load: () => T): () => T {
  let loaded: T | undefined
  return () => {
    if (loaded !== undefined) return loaded
    if (typeof require === 'function') return (loaded = load())
    const { createRequire } = process.getBuiltinModule('node:module')
    return (loaded = createRequire(import.meta.url)(specifier) as T)
  }
}
