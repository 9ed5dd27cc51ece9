/** Tiny DOM helpers: build elements with text (never innerHTML with server data). */

type Child = Node | string | null | undefined | false

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue
    node.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children) if (c) node.append(c)
  return node
}

export function $<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(selector)
  if (!found) throw new Error(`missing ${selector}`)
  return found
}

export function $$<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T[] {
  return [...root.querySelectorAll<T>(selector)]
}

/** Replace a <dl> with term/value pairs. */
export function fillFacts(dl: HTMLElement, facts: [string, string | Node][]): void {
  dl.replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))
}

export function badge(text: string, kind: string): HTMLSpanElement {
  return el('span', { class: `badge ${kind}` }, text)
}

/** Show a message in an element (hidden when empty). */
export function say(node: HTMLElement, message: string | null): void {
  node.textContent = message ?? ''
  node.hidden = !message
}

/** The page-wide error banner. */
export function showError(message: string | null): void {
  say($('[data-error]'), message)
}

/** Disable a button while `work` runs; returns what it returns. */
export async function busy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T> {
  button.disabled = true
  button.setAttribute('aria-busy', 'true')
  try {
    return await work()
  } finally {
    button.disabled = false
    button.removeAttribute('aria-busy')
  }
}

/** Click handler for `[data-action="<name>"]` inside `root`. */
export function onAction(root: ParentNode, name: string, handler: (button: HTMLButtonElement) => void | Promise<void>): void {
  const button = $<HTMLButtonElement>(`[data-action="${name}"]`, root)
  button.addEventListener('click', () => void handler(button))
}

/** A password-style input with Show/Hide and Copy buttons. */
export function secretField(input: HTMLInputElement, reveal: HTMLButtonElement | null, copy: HTMLButtonElement): void {
  if (reveal) {
    reveal.addEventListener('click', () => {
      const show = input.type === 'password'
      input.type = show ? 'text' : 'password'
      reveal.textContent = show ? 'Hide' : 'Show'
      reveal.setAttribute('aria-pressed', String(show))
    })
  }
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(input.value)
      copy.textContent = 'Copied'
    } catch {
      // No clipboard (plain http on another device): select the text so the user can copy it.
      input.type = 'text'
      input.select()
      copy.textContent = 'Selected'
    }
    setTimeout(() => (copy.textContent = 'Copy'), 1500)
  })
}

/** "3 min ago" style times. */
export function ago(iso: string | null): string {
  if (!iso) return '—'
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000)
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return new Date(iso).toLocaleDateString()
}
