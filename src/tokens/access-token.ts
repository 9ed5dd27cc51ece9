/**
 * The access token of this run (token-guard reference): fixed with --auth-token /
 * LATCHKEY_AUTH_TOKEN, else random per start; null when --insecure-no-auth turns it off
 * for direct listeners. It always exists for tunnel ingress, which is never open.
 */
import { fingerprint, randomSecret } from './secrets.ts'

export class AccessToken {
  readonly value: string
  /** Whether the operator fixed it (its sessions then survive restarts). */
  readonly fixed: boolean

  constructor(fixed?: string) {
    this.value = fixed ?? randomSecret(32)
    this.fixed = fixed !== undefined
  }

  /** Issuer id for sessions this token creates. */
  get issuer(): string {
    return `access-token:${fingerprint(this.value)}`
  }
}
