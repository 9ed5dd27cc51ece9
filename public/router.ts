/** Views by URL fragment (#remote, #connect, #apps, #devices); behaviour hangs on data-view / data-nav. */
import { $$ } from './dom.ts'

type ShowHook = () => void | Promise<void>
const hooks = new Map<string, ShowHook[]>()

/** Run `hook` every time `view` is shown (and now, if it is the current view). */
export function onShow(view: string, hook: ShowHook): void {
  hooks.set(view, [...(hooks.get(view) ?? []), hook])
}

function available(name: string): boolean {
  const link = document.querySelector<HTMLElement>(`[data-nav="${name}"]`)
  return !!link && !link.hidden
}

/** Where a visit without a #view lands (set at boot from who is looking: see app.ts). */
let landing = 'remote'

export function setLanding(view: string): void {
  if (available(view)) landing = view
}

export function currentView(): string {
  const want = location.hash.replace(/^#/, '')
  return want && available(want) ? want : landing
}

export function showView(): void {
  const name = currentView()
  for (const view of $$('[data-view]')) view.hidden = view.dataset.view !== name
  for (const link of $$('[data-nav]')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  document.title = `${$$(`[data-nav="${name}"]`)[0]?.textContent ?? 'Remote'} · latchkey`
  for (const hook of hooks.get(name) ?? []) void hook()
}

export function startRouter(): void {
  window.addEventListener('hashchange', () => {
    showView()
    document.getElementById('main')?.focus({ preventScroll: true })
  })
  showView()
}
