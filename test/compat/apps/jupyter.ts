/**
 * Jupyter Notebook 6 from Debian (`jupyter-notebook`, kernel from `python3-ipykernel`), on
 * 127.0.0.1 with a known password (its login form) and a known token (its API clients),
 * a temp notebook dir, and config, data, runtime and IPython dirs of its own.
 *
 * Behind latchkey: port mode needs nothing. Path mode forwards the full path, prefix
 * included (/apps/jupyter/tree reaches Jupyter as /apps/jupyter/tree), so Jupyter runs with
 * `--NotebookApp.base_url=/apps/jupyter/`. latchkey sends Jupyter its own Host
 * (127.0.0.1:<port>) and, for the app's own pages, its own Origin, so Jupyter's host,
 * origin (WebSocket) and XSRF checks need no setting.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, requireInstalled, spawnApp, tempDir, waitUntilAnswers, type AppProcess } from './app-process.ts'

export const JUPYTER = '/usr/bin/jupyter-notebook'

export interface Jupyter extends AppProcess {
  /** What its login form takes. */
  password: string
  /** What `Authorization: token …` and `?token=` take. */
  token: string
  /** The base URL it serves under: "/" or "/apps/<name>/". */
  baseUrl: string
  notebookDir: string
}

/**
 * Notebook 6's salted SHA-1 password form, `sha1:<salt>:<hex>` of password + salt
 * (notebook/auth/security.py, passwd_check), so no Python runs to hash it.
 */
function passwordHash(password: string): string {
  const salt = randomBytes(6).toString('hex')
  return `sha1:${salt}:${createHash('sha1').update(password + salt).digest('hex')}`
}

export async function startJupyter(opts: { baseUrl?: string } = {}): Promise<Jupyter> {
  requireInstalled(JUPYTER, 'jupyter-notebook')
  requireInstalled('/usr/lib/python3/dist-packages/ipykernel', 'python3-ipykernel')
  const baseUrl = opts.baseUrl ?? '/'
  const dir = tempDir('lk-jupyter-')
  const notebookDir = join(dir, 'notebooks')
  mkdirSync(notebookDir)
  const password = `pw-${randomBytes(6).toString('hex')}`
  const token = randomBytes(24).toString('hex')
  const port = await freePort()
  const app = spawnApp({
    name: 'jupyter',
    command: JUPYTER,
    args: [
      '--no-browser',
      // CI runs as root; Jupyter refuses root without this.
      '--allow-root',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      `--notebook-dir=${notebookDir}`,
      `--NotebookApp.base_url=${baseUrl}`,
      `--NotebookApp.password=${passwordHash(password)}`,
      `--NotebookApp.token=${token}`,
    ],
    port,
    dir,
    env: {
      JUPYTER_CONFIG_DIR: join(dir, 'config'),
      JUPYTER_DATA_DIR: join(dir, 'data'),
      JUPYTER_RUNTIME_DIR: join(dir, 'runtime'),
      IPYTHONDIR: join(dir, 'ipython'),
      // The kernel's own Python (Debian's), whatever python3 comes first on PATH.
      PATH: `/usr/bin:${process.env.PATH}`,
    },
  })
  await waitUntilAnswers(app, `${app.origin}${baseUrl}login`)
  return { ...app, password, token, baseUrl, notebookDir }
}
