/**
 * Is latchkey running inside a container? The usual markers, looked for under `root` (the
 * real `/` in production; a temporary folder in tests):
 *
 * - `/.dockerenv`: Docker creates it in every container.
 * - `/run/.containerenv`: Podman (and Buildah) create it.
 * - `/proc/1/cgroup`, `/proc/self/cgroup`: cgroup v1 paths name the runtime (`/docker/<id>`,
 *   `/kubepods/…`, `containerd`, `libpod`/`podman`, `/lxc/…`). Under cgroup v2 with a private
 *   namespace the path is just `0::/`, so this marker alone is not relied on.
 * - `container` in the environment: set by Podman, LXC, systemd-nspawn and others.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface ContainerInfo {
  /** The first marker found, as a person would check it (e.g. "/.dockerenv"). */
  marker: string
  /** What the markers say the runtime is (docker, podman, kubernetes, containerd, lxc, …). */
  runtime: string
}

const CGROUP_MARKERS: [RegExp, string][] = [
  [/kubepods/, 'kubernetes'],
  [/docker/, 'docker'],
  [/libpod|podman/, 'podman'],
  [/containerd|cri-containerd/, 'containerd'],
  [/\/lxc(\/|\.payload)|lxc\.payload/, 'lxc'],
]

function readSmall(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(0, 64 * 1024)
  } catch {
    return ''
  }
}

/** The container latchkey runs in, or null. Never throws. */
export function detectContainer(root: string, env: Record<string, string | undefined>): ContainerInfo | null {
  if (existsSync(join(root, '.dockerenv'))) return { marker: '/.dockerenv', runtime: 'docker' }
  if (existsSync(join(root, 'run', '.containerenv'))) return { marker: '/run/.containerenv', runtime: 'podman' }
  for (const file of ['proc/1/cgroup', 'proc/self/cgroup']) {
    const text = readSmall(join(root, file))
    for (const [re, runtime] of CGROUP_MARKERS) {
      if (text.split('\n').some((line) => re.test(line.split(':').slice(2).join(':')))) return { marker: `/${file}`, runtime }
    }
  }
  const named = env.container?.trim()
  if (named) return { marker: `the "container" environment variable`, runtime: named.replace(/[^\w.-]/g, '').slice(0, 40) || 'unknown' }
  return null
}
