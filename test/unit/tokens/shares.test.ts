/**
 * ShareStore (src/tokens/shares.ts) with an injected clock, beside the SessionStore on the
 * same clock: a share and the sessions it issued end at the same instant, the link's secret
 * is never stored, and shares, their counts and their sessions' scope survive a reload.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ShareStore, shareIssuer } from '../../../src/tokens/shares.ts'
import { SessionStore } from '../../../src/tokens/sessions.ts'

const dirs: string[] = []
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'lk-shares-unit-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const HOUR = 3600_000

/** A share, and a session issued for it the way share-exchange.ts issues one. */
function setup(dataDir?: string) {
  let now = 1_000_000
  const clock = { now: () => now, set: (t: number) => void (now = t) }
  const shares = new ShareStore({ dataDir, now: clock.now })
  const sessions = new SessionStore({ dataDir, now: clock.now })
  const { secret, share } = shares.create({ app: 'notes', ttlMs: HOUR, viewOnly: true, maxDevices: 3, createdBy: 'local' })
  // Opened ten minutes later: the session must still end with the share, not an hour after opening.
  clock.set(now + 10 * 60_000)
  const { secret: cookie, session } = sessions.create({
    role: 'viewer',
    issuer: shareIssuer(share.id),
    userAgent: 'Phone',
    maxAgeMs: HOUR,
    expiresAt: share.expiresAt,
    durable: true,
    address: '10.0.0.2',
    scope: { share: share.id, app: share.app, viewOnly: share.viewOnly },
  })
  shares.opened(share, session)
  return { clock, shares, sessions, secret, share, cookie, session }
}

describe('ShareStore', () => {
  it('ends the share and its sessions at the same instant: valid 1 ms before expiry, refused at it', () => {
    const { clock, shares, sessions, secret, share, cookie } = setup()
    expect(share.expiresAt).toBe(1_000_000 + HOUR)
    clock.set(share.expiresAt - 1)
    expect(shares.verify(secret)).toMatchObject({ ok: true })
    expect(sessions.lookup(cookie)?.scope).toEqual({ share: share.id, app: 'notes', viewOnly: true })
    clock.set(share.expiresAt)
    expect(shares.verify(secret)).toEqual({ ok: false, code: 'share_expired' })
    expect(sessions.lookup(cookie)).toBeNull()
    expect(shares.live()).toEqual([])
    expect(shares.liveIssuer(shareIssuer(share.id))).toBe(false)
  })

  it('tells a wrong or cut-short link from an expired one', () => {
    const { shares, secret } = setup()
    expect(shares.verify(secret.slice(0, -1))).toEqual({ ok: false, code: 'share_invalid' })
    expect(shares.verify('')).toEqual({ ok: false, code: 'share_invalid' })
    expect(shares.verify('x'.repeat(1000))).toEqual({ ok: false, code: 'share_invalid' })
  })

  it('forgets a revoked share at once', () => {
    const { shares, secret, share } = setup()
    expect(shares.revoke(share.id)?.id).toBe(share.id)
    expect(shares.verify(secret)).toEqual({ ok: false, code: 'share_invalid' })
    expect(shares.revoke(share.id)).toBeUndefined()
  })

  it('counts each device that opened it and tells the listeners', () => {
    const { shares, share, session } = setup()
    const seen: string[] = []
    shares.onOpened((s, sess) => seen.push(`${s.id}:${sess.id}:${s.opened}`))
    shares.opened(share, session)
    expect(seen).toEqual([`${share.id}:${session.id}:2`])
  })

  it('keeps shares and their sessions\' scope across a reload, with the secrets stored only as hashes', () => {
    const dir = fresh()
    const { secret, share, cookie } = setup(dir)
    const onDisk = readFileSync(join(dir, 'shares.json'), 'utf8') + readFileSync(join(dir, 'sessions.json'), 'utf8')
    expect(onDisk).not.toContain(secret)
    expect(onDisk).not.toContain(cookie)
    const clock = () => 1_000_000 + 20 * 60_000
    const shares = new ShareStore({ dataDir: dir, now: clock })
    const sessions = new SessionStore({ dataDir: dir, now: clock })
    expect(shares.verify(secret)).toMatchObject({ ok: true, share: { id: share.id, opened: 1, maxDevices: 3, viewOnly: true } })
    expect(shares.liveIssuer(shareIssuer(share.id))).toBe(true)
    expect(sessions.lookup(cookie)?.scope).toEqual({ share: share.id, app: 'notes', viewOnly: true })
  })

  it('drops a saved session whose scope is damaged rather than widen it, and a damaged share entry', () => {
    const dir = fresh()
    const { share, cookie } = setup(dir)
    const path = join(dir, 'sessions.json')
    const saved = JSON.parse(readFileSync(path, 'utf8'))
    saved[0].scope = { share: share.id, app: 'notes' }
    writeFileSync(path, JSON.stringify(saved))
    expect(new SessionStore({ dataDir: dir, now: () => 1_000_000 + 20 * 60_000 }).lookup(cookie)).toBeNull()
    const sharesPath = join(dir, 'shares.json')
    const stored = JSON.parse(readFileSync(sharesPath, 'utf8'))
    stored[0].maxDevices = -1
    writeFileSync(sharesPath, JSON.stringify(stored))
    expect(new ShareStore({ dataDir: dir, now: () => 1_000_000 }).live()).toEqual([])
  })
})
