/**
 * `latchkey doctor`: checks this machine's setup with the same flags, env and files a start
 * would use, prints one line per check (with a fix when something is wrong) and exits 0
 * only when nothing needs fixing.
 */
import { devNull } from 'node:os'
import type { ParsedArgs } from '../cli.ts'
import { resolveConfig, type Config } from '../config/resolve.ts'
import { ConfigError } from '../errors.ts'
import { VERSION } from '../version.ts'
import { formatResult, isProblem, type CheckResult } from '../doctor/check.ts'
import { checkApiKeyFile, checkDataDir, checkFileModes, checkSettings, checkYaml } from '../doctor/files.ts'
import { checkBind, checkConnectAddress, checkContainer, checkPort, runningInstance } from '../doctor/network.ts'
import { detectContainerMode } from '../container/container-mode.ts'
import { checkTailscaleSocket, checkTool } from '../doctor/tunnel-tools.ts'

type Env = Record<string, string | undefined>

/**
 * Resolve the config; when latchkey.yaml is what fails, resolve again without it so the other
 * checks still run, and hand the error to the latchkey.yaml check.
 */
function loadConfig(args: ParsedArgs, env: Env): { config: Config; yamlError: unknown } {
  try {
    return { config: resolveConfig(args, env), yamlError: null }
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.where) throw err
    const flags = new Map(args.flags)
    flags.set('config', devNull)
    let config: Config
    try {
      config = resolveConfig({ ...args, flags }, env)
    } catch {
      throw err
    }
    // Keep the real path for the report: it is the file that failed.
    return { config: { ...config, configPath: err.where.path }, yamlError: err }
  }
}

/** Run every check; returns the results in print order. */
export async function runChecks(args: ParsedArgs, env: Env): Promise<CheckResult[]> {
  const { config, yamlError } = loadConfig(args, env)
  // Check what a start would do: in a container that is all interfaces, not the loopback default.
  detectContainerMode(config, env)
  const results: CheckResult[] = [checkDataDir(config.dataDir), checkFileModes(config.dataDir, config.configPath)]
  const { result: settingsResult, settings } = checkSettings(config.dataDir)
  results.push(settingsResult, checkYaml(config, yamlError))
  const keyFile = checkApiKeyFile(config)
  if (keyFile) results.push(keyFile)

  const pid = runningInstance(config.dataDir)
  results.push(await checkPort('dashboard port', '--port', config.host, config.port, pid))
  results.push(await checkPort('api port', '--api-port', config.host, config.apiPort, pid))
  const container = checkContainer(config)
  if (container) results.push(container)
  results.push(checkBind(config))

  const remote = settings?.remoteAccess
  const usesTailscale = remote?.activeProvider === 'tailscale' || remote?.providers.tailscale.enabled === true
  const usesCloudflare = remote?.activeProvider === 'cloudflare' || remote?.providers.cloudflare.enabled === true
  // Admins are Tailscale identities (admin-allowlist reference): WhoIs needs the socket.
  const needsSocket = usesTailscale || (config.admins.length > 0 && config.tailscaleIdentity === 'auto')
  const socket = await checkTailscaleSocket(config.tailscaleSocket, needsSocket)
  results.push(socket.result, checkTool('tailscale', usesTailscale), checkTool('cloudflared', usesCloudflare))
  results.push(checkConnectAddress(config, socket.ip))
  return results
}

export async function doctor(args: ParsedArgs, env: Env): Promise<void> {
  const results = await runChecks(args, env)
  const width = Math.max(...results.map((r) => r.name.length))
  const lines = [`latchkey ${VERSION} doctor`, ...results.map((r) => formatResult(r, width))]
  const problems = results.filter(isProblem).length
  lines.push('', problems === 0 ? 'All good.' : `${problems} ${problems === 1 ? 'thing needs' : 'things need'} fixing (see "fix:" above).`)
  process.stdout.write(lines.join('\n') + '\n')
  if (problems > 0) process.exitCode = 1
}
