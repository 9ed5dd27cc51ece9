/** Tiny DOM helpers: build elements with text (never innerHTML with server data). */

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  for (const c of children) node.append(c)
  return node
}

export function $<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(selector)
  if (!found) throw new Error(`missing ${selector}`)
  return found
}

/** Replace a <dl> with term/value pairs. */
export function fillFacts(dl: HTMLElement, facts: [string, string | Node][]): void {
  dl.replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))
}

export function showError(message: string | null): void {
  const box = $('[data-error]')
  box.textContent = message ?? ''
  box.hidden = !message
}
