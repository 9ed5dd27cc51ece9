/**
 * Which app set which cookie, so that each app receives only its own. Cookies ignore ports
 * (RFC 6265 §8.5): every app on one host shares the browser's one cookie jar for that host,
 * so without this every port-mode app would receive every other app's cookies (Jupyter's
 * login cookie would reach Syncthing and a Vite dev server).
 *
 * latchkey learns the names an app sets from its `Set-Cookie` headers, and sends an app the
 * cookies it set itself plus those no app claims (set by page script, or before latchkey
 * knew them). The names are kept across restarts in `<data dir>/app-cookies.json`.
 *
 * Note: this separates what an app *receives*. One host is still one cookie jar: two apps
 * that use the same name both receive it (and can overwrite each other's value), and a
 * page of one app can still set a cookie under another's name. Full separation takes a
 * hostname per app (a tunnel hostname each), not a port per app.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../config/atomic-write.ts'

/** Names remembered per app at most: an app that mints names without end stops being learned. */
export const MAX_NAMES_PER_APP = 500
const FILE = 'app-cookies.json'
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export class CookieOwners {
  /** Cookie name → the apps that set it. */
  #owners = new Map<string, Set<string>>()
  #perApp = new Map<string, number>()
  #path: string | null

  constructor(dataDir?: string) {
    this.#path = dataDir ? join(dataDir, FILE) : null
    this.#load()
  }

  /** Note the names in an app's `Set-Cookie` headers; saved at once when one is new. */
  learn(app: string, setCookies: readonly string[]): void {
    let changed = false
    for (const cookie of setCookies) {
      const eq = cookie.indexOf('=')
      if (eq !== -1 && this.#add(app, cookie.slice(0, eq).trim())) changed = true
    }
    if (changed) this.#save()
  }

  /** Whether `app` may receive the cookie `name`: its own, or one no app claims. */
  sends(app: string, name: string): boolean {
    const owners = this.#owners.get(name)
    return owners === undefined || owners.has(app)
  }

  /** The apps that set `name` (for tests and diagnostics). */
  ownersOf(name: string): string[] {
    return [...(this.#owners.get(name) ?? [])]
  }

  #load(): void {
    if (!this.#path) return
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(this.#path, 'utf8'))
    } catch {
      // Missing or damaged: names are learned again from the next Set-Cookie of each app.
      return
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return
    for (const [app, names] of Object.entries(parsed as Record<string, unknown>)) {
      if (Array.isArray(names)) for (const name of names) if (typeof name === 'string') this.#add(app, name)
    }
  }

  /** Record that `app` sets `name`; false when it was known, not a cookie name, or over the bound. */
  #add(app: string, name: string): boolean {
    if (!NAME.test(name)) return false
    const owners = this.#owners.get(name)
    if (owners?.has(app) || (this.#perApp.get(app) ?? 0) >= MAX_NAMES_PER_APP) return false
    if (owners) owners.add(app)
    else this.#owners.set(name, new Set([app]))
    this.#perApp.set(app, (this.#perApp.get(app) ?? 0) + 1)
    return true
  }

  #save(): void {
    if (!this.#path) return
    const byApp: Record<string, string[]> = {}
    for (const [name, apps] of this.#owners) for (const app of apps) (byApp[app] ??= []).push(name)
    try {
      writeFileAtomic(this.#path, JSON.stringify(byApp, null, 1) + '\n')
    } catch {
      // A full disk only means the names are learned again after a restart.
    }
  }
}
