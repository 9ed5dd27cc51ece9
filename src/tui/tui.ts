/**
 * The interactive terminal interface of `latchkey` in a TTY (runbook §4.2): status, providers,
 * the connect QR, the URL and recent events, driven by the runbook's hotkeys. Every action calls
 * the same service functions the /api/remote routes call (src/tunnels/, src/tokens/,
 * src/connect/), never HTTP to itself.
 */
import type { Running } from '../server/start.ts'
import type { ProviderName } from '../config/settings-schema.ts'
import { configProblem } from '../tunnels/prerequisites.ts'
import { buildLoginLink, loginUrl, remoteBase } from '../connect/login-url.ts'
import { qrMatrix } from '../connect/qr.ts'
import { maskSecret } from '../tokens/secrets.ts'
import { MIN_TTL_MS } from '../tokens/login-tokens.ts'
import { createShare } from '../shares/share-service.ts'
import { parseKeys, type Key } from './keys.ts'
import { qrFitsBeside, renderFrame, type ConnectInfo, type QrView, type ViewState } from './view.ts'
import type { Terminal } from './terminal.ts'

const PROVIDERS: readonly ProviderName[] = ['cloudflare', 'tailscale']
const POLL_MS = 500
const MAX_EVENTS = 200
const QR_LINE = /[▀▄█]/
const RULE_LINE = /^─+$/

/** A log line as the event list shows it: time of day, level, message. */
export function eventLine(line: string): string {
  const m = /^\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d)\.\d+Z (\w+)\s+(.*)$/.exec(line)
  return m ? `${m[1]} ${m[2].padEnd(5)} ${m[3]}` : line
}

const timeOf = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(11, 19) + ' UTC' : 'never (until regenerated)')

interface Status {
  state: string
  provider: string | null
  url: string | null
  lastError: string | null
  externalTunnel: { provider: string; url: string | null } | null
  restore: { outcome: string; reason: string } | null
}

export class Tui {
  readonly state: ViewState
  #running: Running | null = null
  #term: Terminal
  #timer: ReturnType<typeof setInterval> | null = null
  #quitting = false
  #bannerQr: QrView | null = null
  #onQuit: () => void

  constructor(term: Terminal, version: string, onQuit: () => void) {
    this.#term = term
    this.#onQuit = onQuit
    this.state = {
      version,
      remote: null,
      providers: [],
      selected: 0,
      banner: [],
      connect: null,
      link: [],
      qr: null,
      qrFull: false,
      color: !process.env.NO_COLOR,
      events: [],
      message: null,
      prompt: null,
      help: false,
    }
  }

  /**
   * What start() prints: the listen lines go to the status column; the access block (between
   * the two rules) becomes the token and link drawn full width, and its link the QR panel.
   */
  setBanner(text: string): void {
    const lines = text.split('\n').filter((l) => !QR_LINE.test(l))
    const start = lines.findIndex((l) => RULE_LINE.test(l))
    const end = start === -1 ? -1 : lines.findIndex((l, i) => i > start && RULE_LINE.test(l))
    const head = start === -1 ? lines : lines.slice(0, start)
    // The title row already names the version.
    this.state.banner = head.filter((l, i) => !(i === 0 && l.startsWith('latchkey ')))
    this.state.connect = start === -1 ? null : parseAccess(lines.slice(start + 1, end === -1 ? undefined : end))
    const link = this.state.connect?.link
    this.#bannerQr = link ? { title: 'Scan to connect (access token link)', payload: link, matrix: qrMatrix(link) } : null
    this.state.qr = this.#bannerQr
    this.render()
  }

  addEvent(line: string): void {
    this.state.events.push(eventLine(line))
    if (this.state.events.length > MAX_EVENTS) this.state.events.splice(0, this.state.events.length - MAX_EVENTS)
    this.render()
  }

  /** Take over the terminal for a running latchkey. */
  attach(running: Running): void {
    this.#running = running
    const sel = PROVIDERS.indexOf(running.services.settings.get().remoteAccess.activeProvider as ProviderName)
    this.state.selected = sel === -1 ? 0 : sel
    this.#term.onResize(() => this.render())
    this.#term.enter((data) => {
      for (const key of parseKeys(data)) void this.handle(key)
    })
    this.#timer = setInterval(() => void this.refresh(), POLL_MS)
    void this.refresh()
  }

  detach(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
  }

  render(): void {
    if (!this.#term.active) return
    this.#term.draw(renderFrame(this.state, this.#term.columns, this.#term.rows))
  }

  /** Re-read the tunnel status and settings (R, and every half second). */
  async refresh(): Promise<void> {
    const s = this.#running?.services
    if (!s) return
    const st = (await s.tunnels.status().catch(() => null)) as Status | null
    const remote = s.settings.get().remoteAccess
    this.state.providers = PROVIDERS.map((name) => {
      const problem = configProblem(remote, name)
      return { name, active: remote.activeProvider === name, note: problem ? problem.code.replace(/_/g, ' ') : name === 'cloudflare' && remote.providers.cloudflare.quickTunnel ? 'ready (quick tunnel)' : 'ready' }
    })
    this.state.remote = st && {
      enabled: remote.enabled,
      state: st.state,
      provider: st.provider,
      url: st.url,
      lastError: st.lastError,
      external: st.externalTunnel ? `${st.externalTunnel.provider} ${st.externalTunnel.url ?? ''}`.trim() : null,
      restore: st.restore ? `${st.restore.outcome} (${st.restore.reason})` : null,
      rememberLastRunning: remote.lifecycle.rememberLastRunning,
    }
    this.render()
  }

  #say(text: string, error = false): void {
    this.state.message = { text, error }
    this.render()
  }

  /** Run one action; a refused action (a 409, a 400) becomes the message line, never a crash. */
  async #act(what: () => Promise<void> | void): Promise<void> {
    try {
      await what()
    } catch (err) {
      this.#say(String((err as Error)?.message ?? err), true)
    }
    await this.refresh()
  }

  async handle(key: Key): Promise<void> {
    const st = this.state
    if (key.name === 'interrupt') return this.quit()
    if (st.prompt) return this.#promptKey(key)
    if (st.help) {
      st.help = false
      return this.render()
    }
    if (st.qrFull) {
      st.qrFull = false
      if (key.name === 'escape' && this.#ownQr()) return this.#hideLoginQr()
      return this.render()
    }
    if (key.name === 'up' || key.name === 'left') {
      st.selected = (st.selected + PROVIDERS.length - 1) % PROVIDERS.length
      return this.render()
    }
    if (key.name === 'down' || key.name === 'right') {
      st.selected = (st.selected + 1) % PROVIDERS.length
      return this.render()
    }
    if (key.name === 'escape' && this.#ownQr()) return this.#hideLoginQr()
    if (key.name !== 'char') return
    const s = this.#running!.services
    switch (key.char.toLowerCase()) {
      case 'c': {
        const provider = PROVIDERS[st.selected]
        return this.#act(() => {
          s.tunnels.activate(provider)
          s.log.info('provider activated', { provider, via: 'tui' })
          this.#say(`Active provider: ${provider} (press V to start the tunnel)`)
        })
      }
      case 'v':
        return this.#act(async () => {
          await s.tunnels.start()
          this.#say('Tunnel starting…')
        })
      case 'x':
        return this.#act(async () => {
          this.#say('Stopping the tunnel…')
          await s.tunnels.stop()
          this.#say('Tunnel stopped')
        })
      case 'p':
        return this.#act(() => {
          const { revokedSessions } = s.loginTokens.regeneratePersistent()
          s.log.info('persistent login token regenerated', { revokedSessions })
          const token = s.settings.get().remoteAccess.tokenStrategy.persistent.token
          st.link = [{ text: `Persistent token regenerated: ${maskSecret(token)}` }, { text: `Old links stop working; ${revokedSessions} signed-in device(s) signed out` }]
          this.#say('Persistent token regenerated')
        })
      case 'l': {
        const ttl = Math.round(s.settings.get().remoteAccess.tokenStrategy.shortLived.ttlMs / 60_000)
        st.prompt = { label: `Short-lived token TTL in minutes (Enter = ${ttl}, Esc cancels):`, value: '' }
        return this.render()
      }
      case 'u':
        return this.#act(async () => {
          const link = await buildLoginLink(s, 'short-lived', { oneTime: false })
          st.link = [{ text: 'Authenticated URL (a secret: do not share it):' }, { text: link.url, copy: true }, { text: `  short-lived, expires ${timeOf(link.expiresAt)}, via ${link.source}` }]
          this.#say('Authenticated URL ready')
        })
      case 'k':
        return this.#act(async () => {
          // QR codes get photographed: one-time, like GET /api/remote/qr.
          const link = await buildLoginLink(s, 'short-lived', { oneTime: true })
          st.qr = { title: `Login QR · one-time · expires ${timeOf(link.expiresAt)}`, payload: link.url, matrix: qrMatrix(link.url) }
          // Too small to draw it beside the status: show it alone (any key returns).
          st.qrFull = !qrFitsBeside(st, this.#term.columns, this.#term.rows)
          this.#say('Login QR ready (Esc hides it)')
        })
      case 's': {
        const names = s.apps?.registry.list().map((a) => a.spec.name) ?? []
        if (names.length === 0) return this.#say('No app to share: add one under apps in latchkey.yaml or from the dashboard', true)
        st.prompt = { kind: 'share', label: `Share: app [minutes, 15-10080, default 60] [v = view only], e.g. "${names[0]} 60 v" (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''}):`, value: '' }
        return this.render()
      }
      case 'f':
        if (!st.qr) return this.#say('No QR code to show: there is no connect link (see the banner)', true)
        st.qrFull = true
        return this.render()
      case 'r':
        this.#say('Refreshed')
        return this.refresh()
      case '?':
        st.help = true
        return this.render()
      case 'q':
        return this.quit()
    }
  }

  /** A login or share QR made here (Esc puts the connect QR back). */
  #ownQr(): boolean {
    const title = this.state.qr?.title ?? ''
    return title.startsWith('Login QR') || title.startsWith('Share QR')
  }

  #hideLoginQr(): void {
    const what = this.state.qr?.title.startsWith('Share QR') ? 'Share QR' : 'Login QR'
    this.state.qr = this.#bannerQr
    this.#say(`${what} hidden`)
  }

  /** S, then Enter: `app [minutes] [v]` → a share link and its QR (the same createShare() as POST /api/apps/:name/shares). */
  async #share(line: string): Promise<void> {
    const st = this.state
    const s = this.#running!.services
    const [name = '', ...rest] = line.trim().split(/\s+/)
    const minutes = rest.find((w) => /^\d+$/.test(w))
    const viewOnly = rest.includes('v')
    return this.#act(async () => {
      const share = await createShare(s, name, { ttlMinutes: minutes === undefined ? undefined : Number(minutes), viewOnly }, 'local (terminal)')
      st.qr = { title: `Share QR · ${name}${viewOnly ? ' · view only' : ''} · until ${timeOf(share.expiresAt)}`, payload: share.url, matrix: qrMatrix(share.url) }
      st.link = [
        { text: `Share link for ${name} (anyone with it opens this app only${viewOnly ? ', read only' : ''}, until ${timeOf(share.expiresAt)}):` },
        { text: share.url, copy: true },
        { text: `  share ${share.id}: revoke it under Devices on the dashboard, or DELETE /api/shares/${share.id}` },
      ]
      st.qrFull = !qrFitsBeside(st, this.#term.columns, this.#term.rows)
      this.#say(`Share QR for ${name} ready (Esc hides it)`)
    })
  }

  async #promptKey(key: Key): Promise<void> {
    const p = this.state.prompt!
    if (key.name === 'escape') {
      this.state.prompt = null
      return this.#say('Cancelled')
    }
    if (key.name === 'backspace') p.value = p.value.slice(0, -1)
    else if (p.kind === 'share' && key.name === 'char' && /[a-z0-9 -]/.test(key.char) && p.value.length < 80) p.value += key.char
    else if (p.kind === 'share' && key.name === 'enter') {
      this.state.prompt = null
      return this.#share(p.value)
    } else if (key.name === 'char' && !p.kind && /[0-9]/.test(key.char) && p.value.length < 6) p.value += key.char
    else if (key.name === 'enter') {
      this.state.prompt = null
      const s = this.#running!.services
      const minutes = p.value === '' ? undefined : Number(p.value)
      return this.#act(async () => {
        const ttlMs = minutes === undefined ? undefined : Math.max(MIN_TTL_MS, minutes * 60_000)
        const issued = s.loginTokens.generateShortLived({ ttlMs })
        const base = await remoteBase(s).catch(() => null)
        this.state.link = [
          { text: `Short-lived token (${Math.round(issued.ttlMs! / 60_000)} min${issued.clamped ? ', cut to maxTtlMs' : ''}, expires ${timeOf(new Date(issued.expiresAt!).toISOString())}):` },
          { text: issued.token, copy: true },
          base ? { text: loginUrl(base.base, issued.token), copy: true } : { text: '  (no remote address yet: start a tunnel or listen on --host 0.0.0.0 for a URL)' },
        ]
        this.#say('Short-lived token generated')
      })
    }
    this.render()
  }

  /**
   * Q: leave the screen, stop latchkey and exit 0. A manual stop first unless
   * rememberLastRunning is on, so the restart marker survives and the next start restores it.
   */
  async quit(): Promise<void> {
    if (this.#quitting || !this.#running) return
    this.#quitting = true
    this.detach()
    const s = this.#running.services
    this.#term.restore()
    const remember = s.settings.get().remoteAccess.lifecycle.rememberLastRunning
    if (!remember) await s.tunnels.stop().catch(() => {})
    await this.#running.stop()
    this.#onQuit()
  }
}

/**
 * The token, the link and the note of the banner's access block (src/banner.ts): the token is
 * the line under "…enter this token:", the link the indented http(s) line.
 */
function parseAccess(lines: string[]): ConnectInfo | null {
  const at = lines.findIndex((l) => /enter this token:\s*$/.test(l))
  const token = at === -1 ? null : (lines[at + 1]?.trim() || null)
  const link = lines.map((l) => /^\s+(https?:\/\/\S+)\s*$/.exec(l)?.[1]).find(Boolean) ?? null
  const note = lines.map((l) => l.trim()).find((l) => /^The token is |^No concrete address/.test(l)) ?? null
  return token || link ? { token, link, note } : null
}
