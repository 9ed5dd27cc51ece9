/**
 * The fixed secrets an operator supplies (the access token, the API key) are the only ones
 * latchkey does not generate itself, so their length is the operator's choice. One shorter
 * than 16 characters is within reach of guessing (the guess limiter slows a guesser, it does
 * not stop a patient one), so start-up warns about it in the log and in the banner: which
 * setting, and the rule, never the value or its length.
 */
import type { Config } from './resolve.ts'

/** The shortest fixed secret latchkey starts without a warning. */
export const MIN_SECRET_LENGTH = 16

/** How the operator set each secret, as they would look for it (the flag, env var or YAML key). */
function tokenSetting(config: Config): string {
  return config.sources.authToken === 'flag' ? '--auth-token' : 'LATCHKEY_AUTH_TOKEN'
}

function apiKeySetting(config: Config): string {
  if (config.apiKeyFile) {
    const from = config.sources.apiKeyFile
    return from === 'flag' ? 'the file of --api-key-file' : from === 'env' ? 'the file of LATCHKEY_API_KEY_FILE' : 'the file of apiKeyFile in latchkey.yaml'
  }
  return config.sources.apiKey === 'env' ? 'LATCHKEY_API_KEY' : 'apiKey in latchkey.yaml'
}

/** One sentence per supplied secret that is too short (none when all are long enough). */
export function shortSecretWarnings(config: Config): string[] {
  const out: string[] = []
  const rule = `is shorter than ${MIN_SECRET_LENGTH} characters and could be guessed: use ${MIN_SECRET_LENGTH} or more random characters (e.g. openssl rand -base64 24)`
  if (config.authToken !== undefined && config.authToken.length < MIN_SECRET_LENGTH) out.push(`the access token from ${tokenSetting(config)} ${rule}`)
  if (config.apiKey !== undefined && config.apiKey.length < MIN_SECRET_LENGTH) out.push(`the API key from ${apiKeySetting(config)} ${rule}`)
  return out
}
