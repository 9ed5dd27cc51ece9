/**
 * Syncthing from Debian, offline: a config generated into a temp home, then every feature
 * that would reach the internet turned off (global and local discovery, relays, NAT
 * traversal and STUN, usage reporting, crash reporting, upgrades), its sync protocol
 * listening on 127.0.0.1 only, the GUI on 127.0.0.1:<port>, one folder in the temp dir.
 *
 * Behind latchkey: port mode only. Syncthing's GUI has no base-path setting (its pages ask
 * for /rest/… and /assets/… at the root), and path mode forwards /apps/<name>/… unchanged.
 * Its Host check (a GUI bound to loopback refuses a Host other than localhost, 127.0.0.1 or
 * ::1 with 403 "Host check error", against DNS rebinding) needs no `insecureSkipHostcheck`:
 * latchkey sends the target's Host, 127.0.0.1:<port>, not the phone's.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { freePort, requireInstalled, spawnApp, tempDir, waitUntilAnswers, type AppProcess } from './app-process.ts'

export const SYNCTHING = '/usr/bin/syncthing'

export interface Syncthing extends AppProcess {
  /** The GUI's API key (X-API-Key), for the test's own calls. */
  apiKey: string
  /** The short device ID the GUI names its CSRF cookie after. */
  deviceId: string
  folderPath: string
}

/** <options> values that keep Syncthing off the network (docs.syncthing.net, "Configuration"). */
const OFFLINE: Record<string, string> = {
  globalAnnounceEnabled: 'false',
  localAnnounceEnabled: 'false',
  relaysEnabled: 'false',
  natEnabled: 'false',
  // 0 disables STUN keepalives (and with NAT off, STUN itself).
  stunKeepaliveStartS: '0',
  // -1: the user declined usage reporting (0 would show the "Allow anonymous usage reporting?" prompt).
  urAccepted: '-1',
  crashReportingEnabled: 'false',
  autoUpgradeIntervalH: '0',
  startBrowser: 'false',
  // No "set a GUI password" notice over the page in screenshots.
  unackedNotificationID: '',
}

function setOption(xml: string, name: string, value: string): string {
  const re = new RegExp(`(<options>[\\s\\S]*?<${name}>)[^<]*(</${name}>)`)
  if (!re.test(xml)) throw new Error(`syncthing config.xml has no <options><${name}>`)
  return xml.replace(re, `$1${value}$2`)
}

export async function startSyncthing(): Promise<Syncthing> {
  requireInstalled(SYNCTHING, 'syncthing')
  const dir = tempDir('lk-syncthing-')
  const home = join(dir, 'home')
  const folderPath = join(dir, 'folder')
  const gen = spawnSync(SYNCTHING, ['generate', `--home=${home}`, '--no-default-folder', '--skip-port-probing'], { encoding: 'utf8' })
  const id = /Device ID: (\S+)/.exec(gen.stdout + gen.stderr)?.[1]
  if (gen.status !== 0 || !id) throw new Error(`syncthing generate failed (${gen.status}):\n${gen.stdout}${gen.stderr}`)
  const [port, listenPort] = [await freePort(), await freePort()]
  const apiKey = randomBytes(16).toString('hex')
  const configPath = join(home, 'config.xml')
  let xml = readFileSync(configPath, 'utf8')
  for (const [name, value] of Object.entries(OFFLINE)) xml = setOption(xml, name, value)
  xml = setOption(xml, 'listenAddress', `tcp://127.0.0.1:${listenPort}`)
  xml = xml.replace(
    /(\s*)<\/configuration>/,
    `$1    <folder id="compat" label="Compat" path="${folderPath}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="false">` +
      `<device id="${id}"></device></folder>$1</configuration>`,
  )
  writeFileSync(configPath, xml)
  const app = spawnApp({
    name: 'syncthing',
    command: SYNCTHING,
    args: ['serve', `--home=${home}`, '--no-browser', '--no-restart', '--no-upgrade', `--gui-address=http://127.0.0.1:${port}`, `--gui-apikey=${apiKey}`],
    port,
    dir,
    env: { STNOUPGRADE: '1', STNORESTART: '1', STNODEFAULTFOLDER: '1', HOME: dir },
  })
  await waitUntilAnswers(app, `${app.origin}/`)
  return { ...app, apiKey, deviceId: id.slice(0, 5), folderPath }
}
