/**
 * Container detection from the markers a real container has, created in a temporary root the
 * detection is pointed at: /.dockerenv, /run/.containerenv, the cgroup files of PID 1 and of
 * the process, and `container` in the environment; nothing found on a plain root (including
 * the cgroup v2 `0::/` a container and a host can both show).
 */
import { describe, expect, it } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { tempDir } from '../../helpers/latchkey.ts'
import { detectContainer } from '../../../src/container/detect.ts'
import { isPrivateAddress } from '../../../src/net/ip.ts'

function rootWith(files: Record<string, string>): string {
  const root = tempDir('lk-root-')
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

const HOST_CGROUP_V1 = '12:memory:/user.slice/user-1000.slice\n1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n0::/user.slice\n'

describe('detectContainer', () => {
  it.each([
    [{ '.dockerenv': '' }, '/.dockerenv', 'docker'],
    [{ 'run/.containerenv': 'engine="podman-4.9"\n' }, '/run/.containerenv', 'podman'],
    [{ 'proc/1/cgroup': '12:cpuset:/docker/3f1c0a9e\n11:memory:/docker/3f1c0a9e\n0::/\n' }, '/proc/1/cgroup', 'docker'],
    [{ 'proc/1/cgroup': '0::/', 'proc/self/cgroup': '11:cpu:/kubepods/besteffort/pod1234/abcd\n' }, '/proc/self/cgroup', 'kubernetes'],
    [{ 'proc/1/cgroup': '0::/system.slice/containerd.service/kubepods-burstable.slice:cri-containerd:ab12\n' }, '/proc/1/cgroup', 'kubernetes'],
    [{ 'proc/1/cgroup': '1:name=systemd:/machine.slice/libpod-9a8b.scope\n' }, '/proc/1/cgroup', 'podman'],
    [{ 'proc/1/cgroup': '0::/system.slice/containerd.service\n' }, '/proc/1/cgroup', 'containerd'],
    [{ 'proc/1/cgroup': '3:cpu:/lxc/web01\n' }, '/proc/1/cgroup', 'lxc'],
  ])('finds %j', (files, marker, runtime) => {
    expect(detectContainer(rootWith(files), {})).toEqual({ marker, runtime })
  })

  it('reads `container` from the environment', () => {
    expect(detectContainer(rootWith({}), { container: 'podman' })).toEqual({ marker: 'the "container" environment variable', runtime: 'podman' })
    expect(detectContainer(rootWith({}), { container: '' })).toBeNull()
  })

  it('finds nothing on a host: no markers, a host cgroup, or only the cgroup v2 root', () => {
    expect(detectContainer(rootWith({}), {})).toBeNull()
    expect(detectContainer(rootWith({ 'proc/1/cgroup': HOST_CGROUP_V1, 'proc/self/cgroup': HOST_CGROUP_V1 }), {})).toBeNull()
    expect(detectContainer(rootWith({ 'proc/1/cgroup': '0::/\n', 'proc/self/cgroup': '0::/\n' }), {})).toBeNull()
    expect(detectContainer(join(tempDir(), 'does-not-exist'), {})).toBeNull()
  })

  it('the container bridge range 172.16.0.0/12 is among the private addresses adminAllowLocalhost admits', () => {
    for (const a of ['172.17.0.1', '172.16.0.2', '172.31.255.254', '::ffff:172.18.0.3']) expect(isPrivateAddress(a)).toBe(true)
    for (const a of ['172.15.0.1', '172.32.0.1']) expect(isPrivateAddress(a)).toBe(false)
  })
})
