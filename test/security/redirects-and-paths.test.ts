/**
 * Security regression suite (issue 10), one test per attack class: open redirects in every
 * redirect latchkey builds, and path traversal on the dashboard and path-mode apps.
 * Remote callers come through the Cloudflare ingress (127.0.0.1, never loopback-exempt) with
 * raw requests, so paths reach latchkey exactly as written (no client normalises them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startLatchkey, type Latchkey } from '../helpers/latchkey.ts'
import { rawHttp } from '../helpers/raw-http.ts'

let lk: Latchkey
let pub: ReturnType<typeof Bun.serve>
let adm: ReturnType<typeof Bun.serve>
const hits = { pub: [] as string[], adm: [] as string[] }
let viewerCookie = ''
let portAppPort = 0

/** An upstream that records every path and redirects to `?to=` on /redirect. */
function upstream(name: 'pub' | 'adm') {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const raw = req.url.slice(req.url.indexOf('/', 8))
      hits[name].push(raw)
      const to = new URL(req.url).searchParams.get('to')
      if (raw.includes('/redirect') && to !== null) return new Response(null, { status: 302, headers: { location: to } })
      return new Response(`${name} app at ${raw}`)
    },
  })
}

/** A raw GET through the Cloudflare ingress (remote), with the given path as written. */
const remoteGet = (path: string, headers: Record<string, string> = {}) =>
  rawHttp(lk.cloudflareIngressPort, [`GET ${path} HTTP/1.1`, 'Host: x.trycloudflare.com', 'Accept: text/html', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''].join('\r\n'))
const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(raw.split('\r\n\r\n')[0])?.[1]?.trim() ?? null

/** A Location stays on this origin: a path, never protocol-relative, never another host. */
function sameOrigin(location: string | null): boolean {
  if (location === null) return false
  const base = 'http://x.trycloudflare.com/'
  return /^\/(?![/\\])/.test(location) && new URL(location, base).host === 'x.trycloudflare.com'
}

// The ways a path can turn into another host once a browser reads it.
const OFF_SITE = ['//evil.example/', '/\\evil.example/', '/\\/evil.example/', '///evil.example/', '/%2f%2fevil.example/', '/%2F/evil.example/', '/%5cevil.example/', '/%5c%5cevil.example/', '/..//evil.example/', '/.//evil.example/', '//evil.example/%2e%2e/', '/%09/evil.example/']

beforeAll(async () => {
  pub = upstream('pub')
  adm = upstream('adm')
  lk = await startLatchkey({
    args: ['--host', '127.0.0.1'],
    env: { LATCHKEY_AUTH_TOKEN: 'redirect-suite-access-token-0123456789' },
    yaml: [
      'apps:',
      '  - name: pub',
      `    target: http://127.0.0.1:${pub.port}/base`,
      '    path: /apps/pub',
      '  - name: adm',
      `    target: http://127.0.0.1:${adm.port}`,
      '    path: /apps/adm',
      '    role: admin',
      '  - name: port-app',
      `    target: http://127.0.0.1:${pub.port}`,
      '    port: 0',
      '',
    ].join('\n'),
  })
  const apps = (await (await fetch(lk.url('/api/apps'))).json()).apps as { name: string; port?: number }[]
  portAppPort = apps.find((a) => a.name === 'port-app')!.port!
  // A viewer signed in through the tunnel ingress: remote, read-only.
  const link = await (await fetch(lk.url('/api/remote/token/short-lived/generate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"viewer","ttlMs":600000}' })).json()
  const login = await remoteGet(`/remote-login?rt=${link.token}`)
  viewerCookie = /latchkey_session=[^;]+/.exec(login.raw)![0]
})
afterAll(async () => {
  await lk?.stop()
  pub?.stop(true)
  adm?.stop(true)
})

describe('open redirects', () => {
  it('keeps the ?token= exchange redirect on this origin for every off-site path trick', async () => {
    const bad: string[] = []
    for (const path of OFF_SITE) {
      const res = await remoteGet(`${path}?token=redirect-suite-access-token-0123456789&next=//evil.example`)
      const location = header(res.raw, 'location')
      if (res.status !== 302 || !sameOrigin(location)) bad.push(`${path} → ${res.status} ${location}`)
      if (location?.includes('redirect-suite-access-token')) bad.push(`${path} → token in Location`)
    }
    expect(bad).toEqual([])
  })

  it('sends /remote-login to the fixed path / whatever the request carries', async () => {
    const bad: string[] = []
    for (const extra of ['&next=//evil.example', '&redirect=https://evil.example', '&to=/\\evil.example', '']) {
      const link = await (await fetch(lk.url('/api/remote/token/short-lived/generate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()
      const res = await remoteGet(`/remote-login?rt=${link.token}${extra}`)
      const location = header(res.raw, 'location')
      if (res.status !== 302 || location !== '/') bad.push(`${extra} → ${res.status} ${location}`)
    }
    expect(bad).toEqual([])
  })

  it('rewrites an app\'s redirects to its own origin into same-origin paths, in path and port mode', async () => {
    const up = `http://127.0.0.1:${pub.port}`
    const tricks = [`${up}//evil.example/`, `${up}/\\evil.example/`, `//127.0.0.1:${pub.port}//evil.example/`, '/\\evil.example/', '\\/evil.example/', '\\\\evil.example/', '//127.0.0.1:' + pub.port + '/%2f%2fevil.example', `${up}/%5c%5cevil.example`]
    const bad: string[] = []
    for (const to of tricks) {
      const q = `?to=${encodeURIComponent(to)}`
      const path = await remoteGet(`/apps/pub/redirect${q}`, { cookie: viewerCookie })
      const port = await rawHttp(portAppPort, `GET /redirect${q} HTTP/1.1\r\nHost: 127.0.0.1:${portAppPort}\r\nConnection: close\r\n\r\n`)
      for (const [mode, res] of [['path', path], ['port', port]] as const) {
        const location = header(res.raw, 'location')
        if (res.status !== 302 || !sameOrigin(location)) bad.push(`${mode} mode ${to} → ${res.status} ${location}`)
      }
      if (!header(path.raw, 'location')?.startsWith('/apps/pub/')) bad.push(`path mode ${to} left the app prefix: ${header(path.raw, 'location')}`)
    }
    expect(bad).toEqual([])
  })
})

describe('path traversal', () => {
  it('serves no file outside the dashboard bundle, whatever the encoding of ..', async () => {
    const paths = ['/../../../../etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/%252e%252e/%252e%252e/etc/passwd', '/assets/..%2f..%2fsrc%2fmain.ts', '/index.html/../../src/main.ts', '/.%2e/.%2e/package.json', '/%2e%2e%5c%2e%2e%5cpackage.json', '/..\\..\\package.json', '/favicon.ico/..%2f..%2fpackage.json']
    const bad: string[] = []
    for (const path of paths) {
      // As the local admin (the most privileged caller) and as the remote viewer.
      const local = await rawHttp(lk.dashboardPort, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${lk.dashboardPort}\r\nConnection: close\r\n\r\n`)
      const remote = await remoteGet(path, { cookie: viewerCookie })
      for (const [who, res] of [['local', local], ['viewer', remote]] as const) {
        if (/root:x:0:0|"devDependencies"|import \{|startLatchkey/.test(res.raw)) bad.push(`${who} ${path} → ${res.status} with file contents`)
        if (res.status >= 500 || res.status === 0) bad.push(`${who} ${path} → ${res.status}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('never lets a path-mode app path reach another app or latchkey\'s API', async () => {
    hits.adm.length = 0
    const paths = ['/apps/pub/../adm/secret', '/apps/pub/%2e%2e/adm/secret', '/apps/pub/.%2e/adm/secret', '/apps/pub/..%2fadm/secret', '/apps/pub/%252e%252e/adm/secret', '/apps/pub/..\\adm/secret', '/apps/pub/%2e%2e/%2e%2e/api/remote/settings', '/apps/pub/../../api/remote/sessions', '/apps/pub/..;/adm/secret']
    const bad: string[] = []
    for (const path of paths) {
      const res = await remoteGet(path, { cookie: viewerCookie, accept: 'application/json' })
      if (res.status >= 500 || res.status === 0) bad.push(`${path} → ${res.status}`)
      if (/"remoteAccess"|"sessions"/.test(res.raw)) bad.push(`${path} → reached the API: ${res.status}`)
      if (res.status === 200 && !res.raw.includes('pub app at /base/apps/pub/')) bad.push(`${path} → 200 outside the pub app: ${res.raw.split('\r\n\r\n')[1]?.slice(0, 80)}`)
    }
    // The admin-only app was never reached by the viewer, and the viewer's app only saw paths
    // under its own base path.
    expect(hits.adm).toEqual([])
    // (Health checks ask for the target's root: /base/ for pub, / for port-app.)
    for (const p of hits.pub) if (!p.startsWith('/base/apps/pub/') && !p.startsWith('/redirect') && p !== '/base/' && p !== '/') bad.push(`pub upstream saw ${p}`)
    expect(bad).toEqual([])
    // The control: the admin app answers the admin, so the empty list above means something.
    const admin = await rawHttp(lk.dashboardPort, `GET /apps/adm/secret HTTP/1.1\r\nHost: 127.0.0.1:${lk.dashboardPort}\r\nConnection: close\r\n\r\n`)
    expect(admin.raw).toContain('adm app at /apps/adm/secret')
  })
})
