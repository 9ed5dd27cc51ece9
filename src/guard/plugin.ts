/**
 * The guard as an Elysia plugin: every route says `{ role: 'public' | 'viewer' | 'admin' }`
 * through one macro (and `reveals: true` on a GET that mints or shows a secret); the hooks
 * call admit() once and the handler gets `{ caller }`.
 */
import { Elysia } from 'elysia'
import { requestState } from './request-state.ts'
import { admit, admitReveal, type Guard } from './guard.ts'
import type { Need } from './roles.ts'

const plugins = new WeakMap<Guard, ReturnType<typeof buildGuard>>()
let instances = 0

function hooks(guard: Guard, need: Need) {
  if (need === 'public') return {} // Public routes run no guard hooks; the few that describe the caller ask callerOf().
  return {
    // Note: the check runs in `parse` and `transform`, which come before body parsing
    // and validation, so an anonymous caller learns nothing from a 400 about its body.
    // The hooks are `async` on purpose: Elysia awaits only hooks it takes for async, and
    // a refusal thrown from an un-awaited promise would let the request through.
    parse: async ({ request }: { request: Request }) => {
      await admit(request, need, guard)
    },
    transform: async ({ request }: { request: Request }) => {
      await admit(request, need, guard)
    },
    resolve: ({ request }: { request: Request }) => ({ caller: requestState(request).admitted! }),
  }
}

function buildGuard(guard: Guard) {
  // The seed only tells Elysia instances of different latchkeys apart (tests run several).
  return new Elysia({ name: 'latchkey.guard', seed: ++instances }).macro({
    role: (need: Need) => hooks(guard, need),
    // `{ role: 'admin', reveals: true }` on a GET that mints or shows a secret.
    reveals: (on: boolean) => (on ? { beforeHandle: ({ request }: { request: Request }) => admitReveal(request, guard) } : {}),
  })
}

/** The guard plugin of one latchkey (one instance per Guard, shared by every route group). */
export function guardPlugin(guard: Guard) {
  let plugin = plugins.get(guard)
  if (!plugin) plugins.set(guard, (plugin = buildGuard(guard)))
  return plugin
}
