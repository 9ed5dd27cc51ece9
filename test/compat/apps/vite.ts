/**
 * A Vite dev server (the `vite` devDependency) on a tiny project made in a temp dir: an
 * index.html and a main.js that accepts its own hot updates, so an edit shows without a
 * reload.
 *
 * Behind latchkey: port mode needs nothing: Vite's client opens its HMR socket at the host
 * and port its own script came from (the latchkey listener), with `?token=` (Vite's HMR
 * token, which latchkey passes through), and latchkey sends Vite its own Host and Origin,
 * so `server.allowedHosts` and the socket's origin check need no setting. Path mode forwards
 * /apps/<name>/… unchanged, so Vite runs with `base: '/apps/<name>/'`; the HMR socket then
 * opens at that base too (no `server.hmr` setting). `server.hmr.clientPort` is only needed
 * behind a proxy that moves the page to another port without carrying WebSockets.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../../helpers/latchkey.ts'
import { freePort, requireInstalled, spawnApp, tempDir, waitUntilAnswers, type AppProcess } from './app-process.ts'

export const VITE = join(ROOT, 'node_modules', '.bin', 'vite')

export interface Vite extends AppProcess {
  base: string
  /** Rewrite main.js so the page shows `text` (a hot update, with no reload). */
  edit(text: string): void
}

/** main.js: draws `text` into #app and accepts its own updates (re-runs in place). */
function mainJs(text: string): string {
  return [
    `const app = document.querySelector('#app')`,
    `app.textContent = ${JSON.stringify(text)}`,
    `app.dataset.version = ${JSON.stringify(text)}`,
    `if (import.meta.hot) import.meta.hot.accept()`,
    '',
  ].join('\n')
}

export async function startVite(opts: { base?: string; text?: string } = {}): Promise<Vite> {
  requireInstalled(VITE, 'vite', 'npm ci')
  const base = opts.base ?? '/'
  const dir = tempDir('lk-vite-')
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Vite behind latchkey</title></head>\n' +
      '<body>\n<h1>Vite behind latchkey</h1>\n<p id="app">loading</p>\n<script type="module" src="./main.js"></script>\n</body>\n</html>\n',
  )
  writeFileSync(join(dir, 'main.js'), mainJs(opts.text ?? 'first version'))
  writeFileSync(join(dir, 'vite.config.mjs'), `export default { base: ${JSON.stringify(base)}, clearScreen: false, logLevel: 'info' }\n`)
  const port = await freePort()
  const app = spawnApp({
    name: 'vite',
    command: VITE,
    args: ['--host', '127.0.0.1', '--port', String(port), '--strictPort', '--config', join(dir, 'vite.config.mjs')],
    port,
    dir,
    env: { NO_COLOR: '1', BROWSER: 'none' },
  })
  await waitUntilAnswers(app, `${app.origin}${base}`)
  return { ...app, base, edit: (text) => writeFileSync(join(dir, 'main.js'), mainJs(text)) }
}
