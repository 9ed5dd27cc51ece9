import { describe, expect, it } from 'bun:test'
import { carriesSecret, editDownstreamHeaders, rewriteLocation, rewriteSetCookie, upstreamHeaders, appCookies } from '../../../src/apps/proxy-headers.ts'
import type { Caller } from '../../../src/guard/identify.ts'

const caller: Caller = { role: 'viewer', via: 'session', address: '10.213.0.2', local: false, key: 'session:abc', failedCredential: false }
const target = new URL('http://127.0.0.1:8888')

const ACCESS = 'latchkey-access-token-0123456789'
const API_KEY = 'latchkey-api-key-0123456789abcd'
const secrets = [ACCESS, API_KEY]

describe('upstreamHeaders', () => {
  const incoming = new Headers({
    authorization: `Bearer ${ACCESS}`,
    'x-api-key': API_KEY,
    cookie: `a=1; latchkey_session=s3cret; b=2; stolen=${ACCESS}`,
    connection: 'keep-alive, x-hop',
    'x-hop': 'drop me',
    'keep-alive': 'timeout=5',
    'proxy-authorization': 'Basic eA==',
    'x-forwarded-for': '1.2.3.4',
    forwarded: 'for=1.2.3.4',
    'x-real-ip': '1.2.3.4',
    'x-latchkey-user': 'tailscale:1',
    'tailscale-user-login': 'alice@example.com',
    accept: 'text/html',
    host: 'phone.example:3101',
  })

  it('drops latchkey\'s secrets, hop-by-hop headers and client copies of identity headers', () => {
    const out = upstreamHeaders(incoming, { caller, secrets, host: 'box:3101', proto: 'http', identityHeaders: false })
    expect(out.get('authorization')).toBeNull()
    expect(out.get('x-api-key')).toBeNull()
    expect(out.get('proxy-authorization')).toBeNull()
    expect(out.get('cookie')).toBe('a=1; b=2')
    expect(out.get('x-hop')).toBeNull()
    expect(out.get('keep-alive')).toBeNull()
    expect(out.get('connection')).toBeNull()
    expect(out.get('forwarded')).toBeNull()
    expect(out.get('x-real-ip')).toBeNull()
    expect(out.get('x-latchkey-user')).toBeNull()
    expect(out.get('tailscale-user-login')).toBeNull()
    expect(out.get('host')).toBeNull()
    expect(out.get('accept')).toBe('text/html')
  })

  it('sets X-Forwarded-For, -Proto and -Host from what latchkey knows', () => {
    const out = upstreamHeaders(incoming, { caller, secrets, host: 'box:3101', proto: 'https', identityHeaders: false, prefix: '/apps/x' })
    expect(out.get('x-forwarded-for')).toBe('10.213.0.2')
    expect(out.get('x-forwarded-proto')).toBe('https')
    expect(out.get('x-forwarded-host')).toBe('box:3101')
    expect(out.get('x-forwarded-prefix')).toBe('/apps/x')
  })

  it('sets the caller identity only when the app asks for it', () => {
    const out = upstreamHeaders(incoming, { caller, secrets, host: 'box', proto: 'http', identityHeaders: true })
    expect(out.get('x-latchkey-user')).toBe('session:abc')
    expect(out.get('x-latchkey-role')).toBe('viewer')
  })

  it('drops the Cookie header when only the session cookie was in it', () => {
    expect(appCookies('latchkey_session=x', secrets)).toBeNull()
    expect(appCookies(`t=${API_KEY}`, secrets)).toBeNull()
  })

  it('sends a path-mode app only the first cookie of each name, its own (the most specific path)', () => {
    expect(appCookies('_xsrf=path-app; theme=dark; _xsrf=port-app', secrets, undefined, true)).toBe('_xsrf=path-app; theme=dark')
    expect(appCookies('_xsrf=a; _xsrf=b', secrets)).toBe('_xsrf=a; _xsrf=b')
  })

  it('sends an app only the cookies it may receive', () => {
    expect(appCookies('jupyter=1; syncthing=2; theme=dark', secrets, (n) => n !== 'syncthing')).toBe('jupyter=1; theme=dark')
  })

  it('passes an app\'s own credentials through unchanged: Basic, Jupyter\'s token scheme, another Bearer', () => {
    for (const auth of ['Basic dXNlcjpwYXNz', 'token 0123456789abcdef', 'Bearer the-apps-own-token']) {
      const out = upstreamHeaders(new Headers({ authorization: auth, cookie: 'jupyter=abc' }), { caller, secrets, host: 'box', proto: 'http', identityHeaders: false })
      expect(out.get('authorization')).toBe(auth)
      expect(out.get('cookie')).toBe('jupyter=abc')
    }
  })

  it('finds a secret as a whole value or a last word only', () => {
    expect(carriesSecret(ACCESS, secrets)).toBe(true)
    expect(carriesSecret(`token ${ACCESS}`, secrets)).toBe(true)
    expect(carriesSecret(`x${ACCESS}`, secrets)).toBe(false)
    expect(carriesSecret('', secrets)).toBe(false)
    expect(carriesSecret('anything', ['', ''])).toBe(false)
  })
})

describe('rewriteLocation', () => {
  it('turns a redirect to the upstream origin into a path on latchkey', () => {
    expect(rewriteLocation('http://127.0.0.1:8888/login?next=/', { target })).toBe('/login?next=/')
  })

  it('leaves redirects to other sites alone', () => {
    expect(rewriteLocation('https://accounts.example/auth', { target })).toBe('https://accounts.example/auth')
  })

  it('keeps path-mode redirects under the prefix', () => {
    expect(rewriteLocation('/login', { target, prefix: '/apps/nb' })).toBe('/apps/nb/login')
    expect(rewriteLocation('/apps/nb/tree', { target, prefix: '/apps/nb' })).toBe('/apps/nb/tree')
    expect(rewriteLocation('relative/path', { target, prefix: '/apps/nb' })).toBe('relative/path')
  })

  it('never produces a protocol-relative redirect', () => {
    expect(rewriteLocation('http://127.0.0.1:8888//evil.example/', { target })).toBe('/evil.example/')
  })
})

describe('rewriteSetCookie', () => {
  it('drops a cookie that would replace the latchkey session', () => {
    expect(rewriteSetCookie('latchkey_session=evil; Path=/', undefined)).toBeNull()
  })

  it('scopes path-mode cookies to the prefix and drops Domain', () => {
    expect(rewriteSetCookie('sid=1; Path=/; Domain=127.0.0.1; HttpOnly', '/apps/nb')).toBe('sid=1; HttpOnly; Path=/apps/nb')
    expect(rewriteSetCookie('sid=1; Path=/apps/nb/api', '/apps/nb')).toBe('sid=1; Path=/apps/nb/api')
  })

  it('leaves port-mode cookies as the app set them', () => {
    expect(rewriteSetCookie('sid=1; Path=/; HttpOnly', undefined)).toBe('sid=1; Path=/; HttpOnly')
  })

  it('drops a nameless cookie, which the browser would send back as its bare value', () => {
    for (const cookie of ['=latchkey_session=evil; Path=/apps/x', '=value', ' =latchkey_session=evil', 'latchkey_session', 'latchkey_session; Path=/', '=']) {
      expect(rewriteSetCookie(cookie, undefined)).toBeNull()
      expect(rewriteSetCookie(cookie, '/apps/x')).toBeNull()
    }
  })

  it('drops names that match the session cookie after trimming, in another case or behind a prefix', () => {
    for (const name of [' latchkey_session', 'latchkey_session\t', 'LATCHKEY_SESSION', 'Latchkey_Session', '__Secure-latchkey_session', '__Host-latchkey_session', '__host-LATCHKEY_SESSION', '__Host-Http-latchkey_session']) {
      expect(rewriteSetCookie(`${name}=evil; Path=/`, undefined)).toBeNull()
    }
  })

  it('drops names with characters that would make the Cookie header ambiguous', () => {
    for (const name of ['a,latchkey_session', 'a latchkey_session', '"sid"', 'sid\\x', 's\u00e9', 'a(b)', 'a@b', 'a:b', 'a/b', 'a?b', '{a}', 'a[b]']) {
      expect(rewriteSetCookie(`${name}=1; Path=/`, undefined)).toBeNull()
    }
  })

  it('keeps ordinary cookies, prefixed ones and those merely containing the name', () => {
    for (const cookie of ['sid=1', '__Host-sid=1; Path=/; Secure', 'my_latchkey_session=1', 'latchkey_session_app=1', "a!#$%&'*+-.^_`|~1=x", 'sid="quoted value"']) {
      expect(rewriteSetCookie(cookie, undefined)).toBe(cookie)
    }
  })
})

describe('editDownstreamHeaders', () => {
  it('drops hop-by-hop headers and rewrites Location and every Set-Cookie', () => {
    const h = new Headers([['connection', 'close'], ['transfer-encoding', 'chunked'], ['location', 'http://127.0.0.1:8888/x'], ['set-cookie', 'a=1; Path=/'], ['set-cookie', 'latchkey_session=z'], ['content-type', 'text/html']])
    editDownstreamHeaders(h, { target, prefix: '/apps/nb' })
    expect(h.get('connection')).toBeNull()
    expect(h.get('transfer-encoding')).toBeNull()
    expect(h.get('location')).toBe('/apps/nb/x')
    expect(h.getSetCookie()).toEqual(['a=1; Path=/apps/nb'])
    expect(h.get('content-type')).toBe('text/html')
  })

  it('drops the headers Connection names, and rewrites Set-Cookie even when Connection names it', () => {
    const h = new Headers([['connection', 'close, x-hop, set-cookie'], ['x-hop', '1'], ['keep-alive', 'timeout=5'], ['location', '/x'], ['set-cookie', 'a=1; Path=/'], ['set-cookie', 'latchkey_session=z'], ['content-length', '3']])
    editDownstreamHeaders(h, { target, prefix: '/apps/nb' })
    expect([...h.keys()].sort()).toEqual(['content-length', 'location', 'referrer-policy', 'set-cookie'])
    expect(h.get('location')).toBe('/apps/nb/x')
    expect(h.getSetCookie()).toEqual(['a=1; Path=/apps/nb'])
  })

  it('ignores names in Connection that are not header names', () => {
    const h = new Headers([['connection', ' , bad name, x-ok'], ['x-ok', '1'], ['x-keep', '2']])
    editDownstreamHeaders(h, { target })
    expect([...h]).toEqual([['referrer-policy', 'strict-origin-when-cross-origin'], ['x-keep', '2']])
  })

  it('keeps the app\'s own Referrer-Policy and CSP, and never sets no-referrer', () => {
    const own = new Headers([['referrer-policy', 'same-origin'], ['content-security-policy', "default-src 'self'"]])
    editDownstreamHeaders(own, { target })
    expect(own.get('referrer-policy')).toBe('same-origin')
    expect(own.get('content-security-policy')).toBe("default-src 'self'")
    const none = new Headers()
    editDownstreamHeaders(none, { target })
    expect(none.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
  })
})
