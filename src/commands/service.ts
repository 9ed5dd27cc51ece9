/**
 * `latchkey service install|uninstall`: start latchkey at login as a systemd user unit
 * (Linux) or a launchd agent (macOS), running `latchkey serve` with the flags and LATCHKEY_*
 * variables given to `service install`. Secrets never go on the service's command line
 * (argv is visible to every user through ps): they go to an env file with mode 0600.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { OPTIONS, type ParsedArgs } from '../cli.ts'
import { resolveConfig } from '../config/resolve.ts'
import { expandHome } from '../config/data-dir.ts'
import { UsageError } from '../errors.ts'
import { runtime } from '../runtime/index.ts'

type Env = Record<string, string | undefined>

export const SYSTEMD_UNIT = 'latchkey.service'
export const LAUNCHD_LABEL = 'dev.latchkey.serve'

/** Where the service files go for this user. */
export interface ServicePaths {
  kind: 'systemd' | 'launchd'
  /** The unit file or the agent's plist. */
  unit: string
  /** The env file holding secrets and LATCHKEY_* settings (mode 0600). */
  envFile: string
  /** launchd only: where the agent's output goes. */
  log?: string
}

export function servicePaths(platform: string, env: Env, home = homedir()): ServicePaths {
  if (platform === 'linux') {
    // XDG Base Directory spec: $XDG_CONFIG_HOME when set and absolute, else ~/.config.
    const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config')
    return { kind: 'systemd', unit: join(xdg, 'systemd', 'user', SYSTEMD_UNIT), envFile: join(xdg, 'latchkey', 'service.env') }
  }
  if (platform === 'darwin') {
    return {
      kind: 'launchd',
      unit: join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`),
      envFile: join(home, 'Library', 'Application Support', 'latchkey', 'service.env'),
      log: join(home, 'Library', 'Logs', 'latchkey.log'),
    }
  }
  throw new UsageError(`Cannot install a service on ${platform}: run "latchkey serve" from the Task Scheduler or your init system instead`)
}

/** The executable that runs latchkey: the compiled binary itself, or the runtime plus the entry script. */
export function latchkeyCommand(): string[] {
  const script = process.argv[1] ?? ''
  // A compiled binary's argv[1] is a path inside its embedded file system, not a real file.
  const fromSource = /\.(ts|js|mjs)$/.test(script) && existsSync(script)
  if (!fromSource) return [process.execPath]
  return runtime.name === 'deno' ? [process.execPath, 'run', '-A', script] : [process.execPath, script]
}

/**
 * Split the current settings into `serve` arguments and env-file entries: secrets (and
 * options already given as LATCHKEY_* variables) go to the env file; paths become absolute,
 * because the service does not start in the current folder.
 */
export function serviceSettings(args: ParsedArgs, env: Env): { argv: string[]; envEntries: [string, string][] } {
  const argv: string[] = ['serve']
  const envEntries: [string, string][] = []
  for (const spec of OPTIONS) {
    const given = args.flags.get(spec.key)
    if (given !== undefined) {
      if (spec.type === 'secret') {
        envEntries.push([spec.env!, String(given)])
      } else if (spec.type === 'apps') {
        for (const raw of given as string[]) argv.push(spec.flag!, raw)
      } else if (spec.type === 'bool') {
        argv.push(given ? spec.flag! : `${spec.flag}=false`)
      } else if (spec.type === 'list') {
        argv.push(spec.flag!, (given as string[]).join(','))
      } else {
        argv.push(spec.flag!, spec.type === 'path' && given !== '' ? expandHome(String(given)) : String(given))
      }
      continue
    }
    const raw = spec.env ? env[spec.env] : undefined
    // A LATCHKEY_PORT left in the shell means nothing to the headless serve (see install()).
    if (spec.key === 'port') continue
    if (raw !== undefined && raw !== '') envEntries.push([spec.env!, spec.type === 'path' ? expandHome(raw) : raw])
  }
  return { argv, envEntries }
}

/** One KEY=value line that both systemd's EnvironmentFile and POSIX sh read the same way. */
export function envLine(key: string, value: string): string {
  // Note: no `~` unquoted: sh expands it in assignments, systemd does not.
  if (/^[A-Za-z0-9._:\/@+=,%-]*$/.test(value)) return `${key}=${value}`
  if (/['\n\r\0]/.test(value)) throw new UsageError(`Cannot write ${key} to the service env file: the value contains a quote or a line break`)
  return `${key}='${value}'`
}

/** systemd.service(5) command-line quoting: `%` is a specifier and `$` a variable, so both are doubled. */
function systemdArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  return /^[A-Za-z0-9._\/=:,@+-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export function systemdUnit(command: string[], envFile: string | null): string {
  return [
    '# Written by "latchkey service install"; remove it with "latchkey service uninstall".',
    '[Unit]',
    'Description=latchkey: local dashboards on your other devices',
    '',
    '[Service]',
    'Type=exec',
    `ExecStart=${command.map(systemdArg).join(' ')}`,
    ...(envFile ? [`EnvironmentFile=${systemdArg(envFile)}`] : []),
    // `systemctl reload` applies latchkey.yaml without a restart (src/server/reload.ts).
    'ExecReload=/bin/kill -HUP $MAINPID',
    // Exit 1 is a runtime failure (a port in use included): try again. Exit 2 is a configuration
    // error that a restart cannot fix: stop and let the journal say why.
    'Restart=on-failure',
    'RestartPreventExitStatus=2',
    'RestartSec=5',
    // Tunnel children share the unit's cgroup, so stopping the unit stops them too.
    'KillMode=control-group',
    'TimeoutStopSec=20',
    'UMask=0077',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n')
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** launchd has no env-file setting: a `sh -c` wrapper sources the file, so secrets stay out of the plist and argv. */
export function launchdAgent(command: string[], envFile: string | null, log: string): string {
  const program = envFile ? ['/bin/sh', '-c', 'set -a; . "$0"; set +a; exec "$@"', envFile, ...command] : command
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by "latchkey service install"; remove it with "latchkey service uninstall". -->',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key><string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...program.map((a) => `    <string>${xml(a)}</string>`),
    '  </array>',
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>',
    `  <key>StandardOutPath</key><string>${xml(log)}</string>`,
    `  <key>StandardErrorPath</key><string>${xml(log)}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n')
}

function install(args: ParsedArgs, env: Env, paths: ServicePaths): string[] {
  // The service runs headless `latchkey serve`, which opens no dashboard port: a --port would
  // sit in the unit meaning nothing, while its writer expects a dashboard there.
  if (args.flags.has('port')) {
    throw new UsageError('Cannot install the service with --port: the service runs "latchkey serve", which has no dashboard (API only); set the API port with --api-port')
  }
  // Refuse to install a service that would fail at its first start.
  resolveConfig(args, env)
  const { argv, envEntries } = serviceSettings(args, env)
  const command = [...latchkeyCommand(), ...argv]
  let envFile: string | null = null
  rmSync(paths.envFile, { force: true })
  if (envEntries.length) {
    envFile = paths.envFile
    mkdirSync(dirname(envFile), { recursive: true, mode: 0o700 })
    const body = '# latchkey service settings (secrets: keep this file mode 0600)\n' + envEntries.map(([k, v]) => envLine(k, v)).join('\n') + '\n'
    writeFileSync(envFile, body, { mode: 0o600 })
    chmodSync(envFile, 0o600)
  }
  mkdirSync(dirname(paths.unit), { recursive: true })
  const text = paths.kind === 'systemd' ? systemdUnit(command, envFile) : launchdAgent(command, envFile, paths.log!)
  writeFileSync(paths.unit, text, { mode: 0o644 })
  const lines = [`Wrote ${paths.unit}`]
  if (envFile) lines.push(`Wrote ${envFile} (mode 0600: ${envEntries.map(([k]) => k).join(', ')})`)
  lines.push('', 'Start it now and at every login:')
  if (paths.kind === 'systemd') {
    lines.push('  systemctl --user daemon-reload', `  systemctl --user enable --now ${SYSTEMD_UNIT}`, '  journalctl --user -u latchkey -f          (its log)')
    lines.push('Keep it running after you log out (a VPS or a box at home):', '  sudo loginctl enable-linger "$USER"')
  } else {
    lines.push(`  launchctl bootstrap gui/$(id -u) "${paths.unit}"`, `  tail -f "${paths.log}"          (its log)`)
  }
  return lines
}

function uninstall(paths: ServicePaths): string[] {
  const lines: string[] = []
  if (paths.kind === 'systemd') lines.push('Stop it first if it runs:', `  systemctl --user disable --now ${SYSTEMD_UNIT}`, '')
  else lines.push('Stop it first if it runs:', `  launchctl bootout gui/$(id -u)/${LAUNCHD_LABEL}`, '')
  let removed = 0
  for (const file of [paths.unit, paths.envFile]) {
    if (!existsSync(file)) continue
    rmSync(file, { force: true })
    lines.push(`Removed ${file}`)
    removed++
  }
  if (removed === 0) lines.push(`Nothing to remove: ${paths.unit} does not exist`)
  else if (paths.kind === 'systemd') lines.push('Then: systemctl --user daemon-reload')
  return lines
}

export async function service(args: ParsedArgs, env: Env): Promise<void> {
  const action = args.args[0]
  if ((action !== 'install' && action !== 'uninstall') || args.args.length > 1) {
    throw new UsageError('Usage: latchkey service install [options] | latchkey service uninstall')
  }
  const paths = servicePaths(process.platform, env)
  const lines = action === 'install' ? install(args, env, paths) : uninstall(paths)
  process.stdout.write(lines.join('\n') + '\n')
}
