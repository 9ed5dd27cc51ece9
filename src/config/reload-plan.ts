/**
 * What a reload of the operator configuration changes: the options that differ between the
 * running configuration and a freshly resolved one, split into those a running latchkey
 * applies at once and those that need a restart (listeners, the data dir, the logger and
 * the identity sources are built once, at start). Keys are named as latchkey.yaml spells
 * them. Pure: src/server/reload.ts applies the plan.
 */
import { OPTIONS } from '../cli.ts'
import type { Config } from './resolve.ts'

/** Option keys a running latchkey takes on without a restart. */
export const RELOADABLE: ReadonlySet<string> = new Set([
  'admins', 'adminAllowLocalhost', 'apiKey', 'apiKeyFile', 'allowedOrigins', 'trustedProxies', 'trustServeHeaders',
  'apps', 'webhooks', 'appTimeoutMs', 'webhookRetryMs', 'tunnelGraceMs', 'tunnelStartTimeoutMs',
])

export interface ReloadPlan {
  /** Option keys (Config fields) to copy from the new configuration. */
  apply: string[]
  /** YAML names of what changes now. */
  applied: string[]
  /** YAML names of what changed but keeps its running value until a restart. */
  needsRestart: string[]
}

/** The name a person edits: the YAML key (`tunnels.graceMs`), else the option key. */
export function optionName(key: string): string {
  return OPTIONS.find((o) => o.key === key)?.yaml ?? key
}

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b)

/** Compare every option of the table; secrets are compared, never copied into the plan. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const plan: ReloadPlan = { apply: [], applied: [], needsRestart: [] }
  const cur = current as unknown as Record<string, unknown>
  const nxt = next as unknown as Record<string, unknown>
  for (const { key } of OPTIONS) {
    if (same(cur[key], nxt[key])) continue
    if (!RELOADABLE.has(key)) {
      plan.needsRestart.push(optionName(key))
      continue
    }
    plan.apply.push(key)
    // A key read from apiKeyFile changed: say which setting the operator touched.
    const name = key === 'apiKey' && next.apiKeyFile ? 'apiKeyFile' : optionName(key)
    if (!plan.applied.includes(name)) plan.applied.push(name)
  }
  return plan
}
