/**
 * A real OpenSSH server for the SSH-tunnel journey: Debian's sshd with its own host key,
 * config and authorized key in a temp folder, listening on one address and a free port, and
 * a client key to log in with. Only public-key login, for root, from this test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { tempDir } from './latchkey.ts'

export interface Sshd {
  address: string
  port: number
  /** The client's private key (pass with `ssh -i`). */
  identity: string
  /** ssh options that make a scripted client quiet and non-interactive. */
  clientOptions: string[]
  stop(): void
}

const SSHD = '/usr/sbin/sshd'

async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, address, () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

export async function startSshd(address: string): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error('sshd is missing: install the Debian package openssh-server')
  const dir = tempDir('lk-sshd-')
  const key = (name: string) => {
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)])
    return join(dir, name)
  }
  const hostKey = key('host_key')
  const identity = key('client_key')
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identity}.pub`))
  chmodSync(join(dir, 'authorized_keys'), 0o600)
  // sshd's privilege separation directory must exist (the service would create it).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const port = await freePort(address)
  const config = join(dir, 'sshd_config')
  writeFileSync(config, [
    `ListenAddress ${address}:${port}`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding local',
    'X11Forwarding no',
    'PrintMotd no',
    '',
  ].join('\n'))
  const proc: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr!.on('data', (d) => (err += d))
  // Ready once it accepts a TCP connection.
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, address, () => (s.destroy(), resolve(true)))
      s.on('error', () => resolve(false))
    })
    if (ok) break
    if (i > 100 || proc.exitCode !== null) throw new Error(`sshd did not start: ${err}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    address,
    port,
    identity,
    clientOptions: ['-i', identity, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR'],
    stop() {
      proc.kill('SIGTERM')
    },
  }
}
