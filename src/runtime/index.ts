import type { Runtime } from './types.ts'

export type * from './types.ts'

/** The runtime this process runs on, chosen once at start-up. */
export const runtime: Runtime =
  'Deno' in globalThis
    ? (await import('./deno.ts')).denoRuntime
    : (await import('./bun.ts')).bunRuntime
