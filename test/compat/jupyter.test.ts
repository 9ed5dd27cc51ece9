/**
 * Jupyter Notebook 6 (Debian) behind latchkey, in port mode and in path mode
 * (base_url=/apps/jupyter/), driven from Chromium on the phone: its own login form, a new
 * notebook whose cell runs on the kernel over the WebSocket, a save that reaches the disk;
 * and an API client from the phone using Jupyter's own `Authorization: token` and
 * `?token=`, which reach Jupyter and never count as guesses against latchkey's.
 *
 * Note: Debian's notebook 6.4.12 terminal page is broken on its own ("exports is not
 * defined" in static/terminal/js/main.min.js, a blank page even without latchkey), so
 * terminals are not tested.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { screenshot } from '../e2e/helpers/browser.ts'
import { startJupyter, type Jupyter } from './apps/jupyter.ts'
import { startTogether } from './apps/app-process.ts'
import { curlSession, peerFetch, phoneSignedIn, refusals, startStage, type Phone, type Stage } from './behind-latchkey.ts'

let stage: Stage
const jupyters: Record<'port' | 'path', Jupyter> = {} as never
/** The latchkey app name of each mode (path mode serves /apps/jupyter). */
const NAME = { port: 'jupyter-port', path: 'jupyter' } as const

beforeAll(async () => {
  ;[jupyters.port, jupyters.path] = await startTogether([startJupyter(), startJupyter({ baseUrl: '/apps/jupyter/' })] as const)
  stage = await startStage([
    { name: NAME.port, target: jupyters.port.origin, mode: 'port' },
    { name: NAME.path, target: jupyters.path.origin, mode: 'path' },
  ])
}, 60_000)

afterAll(async () => {
  await stage?.stop()
  await Promise.all(Object.values(jupyters).map((j) => j.stop()))
})

/** The phone's URL of a Jupyter page, `path` relative to its base URL ("tree", "api/status"). */
const at = (mode: 'port' | 'path', path: string) => stage.url(NAME[mode], `/${path}`)

/** Sign the phone in to latchkey; it lands on Jupyter's login page. */
async function toLoginPage(mode: 'port' | 'path'): Promise<Phone> {
  const phone = await phoneSignedIn(stage, at(mode, 'tree'), false)
  await phone.page.waitForSelector('#password_input', { timeout: 10_000 })
  expect(new URL(phone.page.url()).pathname).toBe(new URL(at(mode, 'login')).pathname)
  return phone
}

/**
 * First in the file on purpose: latchkey has not yet seen either Jupyter set `_xsrf`, as on a
 * phone that opens the two for the first time. Cookies ignore ports, so the path-mode Jupyter
 * may be sent two `_xsrf` cookies: its own (Path=/apps/jupyter/) and the port-mode one's
 * (Path=/); its XSRF check must still agree with what its page sends.
 */
describe('Jupyter in port mode and in path mode in one browser', () => {
  it('creates a notebook in each, though both set _xsrf in the one cookie jar of the host', async () => {
    const phone = await phoneSignedIn(stage, at('port', 'tree'), false)
    const { page, context } = phone
    await page.goto(at('port', `tree?token=${jupyters.port.token}`))
    const path = new URL(at('path', 'tree'))
    path.searchParams.set('token', stage.lk.token!)
    await page.goto(path.toString())
    await page.goto(at('path', `tree?token=${jupyters.path.token}`))
    const created: Record<string, string> = {}
    for (const mode of ['port', 'path'] as const) {
      await page.goto(at(mode, 'tree'))
      await page.waitForSelector('#notebook_list', { timeout: 10_000 })
      await page.click('#new-dropdown-button')
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/contents$/.test(r.url())),
        page.click('#kernel-python3 a'),
      ])
      if (answer.status() === 201) created[mode] = '201'
      else {
        const jar = (await context.cookies()).filter((c) => c.name === '_xsrf').map((c) => c.path)
        created[mode] = `${answer.status()} ${await answer.text()} (_xsrf cookies in the jar, by Path: ${jar.join(', ')})`
      }
      for (const p of context.pages()) if (p !== page) await p.close()
    }
    expect(created).toEqual({ port: '201', path: '201' })
    await context.close()
  }, 45_000)
})

describe.each(['port', 'path'] as const)('Jupyter Notebook in %s mode', (mode) => {
  /** Signed in to latchkey, then to Jupyter with Jupyter's own token link (as its console prints it). */
  let phone: Phone

  beforeAll(async () => {
    phone = await toLoginPage(mode)
    await phone.page.goto(at(mode, `tree?token=${jupyters[mode].token}`))
    await phone.page.waitForSelector('#notebook_list', { timeout: 10_000 })
  }, 30_000)

  afterAll(async () => {
    await phone?.context.close()
  })

  it('signs in through its own password form', async () => {
    const form = await toLoginPage(mode)
    const { page } = form
    await screenshot(page, `compat-jupyter-${mode}-login`)
    await page.fill('#password_input', jupyters[mode].password)
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('#login_submit')])
    const sent = await answer.request().allHeaders()
    await page.waitForLoadState()
    await screenshot(page, `compat-jupyter-${mode}-after-login`)
    // On a refusal, say who refused and what the browser sent (Origin, Referer).
    const who = answer.status() === 302 ? 'jupyter' : (await answer.text()).match(/<title>([^<]*)/)?.[1] ?? (await answer.text()).slice(0, 200)
    expect({ status: answer.status(), who, origin: sent.origin, referer: sent.referer === undefined ? 'none' : 'sent' }).toEqual({ status: 302, who: 'jupyter', origin: new URL(at(mode, '')).origin, referer: 'sent' })
    await page.waitForSelector('#notebook_list', { timeout: 10_000 })
    expect(new URL(page.url()).pathname).toBe(new URL(at(mode, 'tree')).pathname)
    // Jupyter's own cookie (named after the host and port latchkey sent it) signs the phone in to Jupyter.
    const names = (await form.context.cookies()).map((c) => c.name)
    expect(names).toContain(`username-127-0-0-1-${jupyters[mode].port}`)
    expect(refusals(form.seen)).toEqual([])
    await screenshot(page, `compat-jupyter-${mode}-tree`)
    await form.context.close()
  }, 30_000)

  it('opens a new notebook, runs 1+1 on the kernel over its WebSocket and saves it to disk', async () => {
    const { page, context } = phone
    await page.click('#new-dropdown-button')
    const [notebook] = await Promise.all([context.waitForEvent('page'), page.click('#kernel-python3 a')])
    // A kernel that reaches "idle" has answered over the channels WebSocket.
    await notebook.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 20_000 })
    await notebook.click('.cell .CodeMirror')
    await notebook.keyboard.type('1+1')
    await notebook.keyboard.press('Shift+Enter')
    const out = await notebook.waitForSelector('.output_result pre', { timeout: 15_000 })
    expect((await out.textContent())?.trim()).toBe('2')
    await notebook.click('#save-notbook button')
    await notebook.waitForSelector('#notification_notebook:has-text("Checkpoint created")', { timeout: 10_000 })
    await screenshot(notebook, `compat-jupyter-${mode}-notebook`)
    const name = decodeURIComponent(new URL(notebook.url()).pathname.split('/').pop()!)
    const saved = JSON.parse(readFileSync(join(jupyters[mode].notebookDir, '.ipynb_checkpoints', name.replace(/\.ipynb$/, '-checkpoint.ipynb')), 'utf8'))
    expect(saved.cells[0].source).toEqual(['1+1'])
    expect(saved.cells[0].outputs[0].data['text/plain']).toEqual(['2'])
    expect(refusals(phone.seen)).toEqual([])
    await notebook.close()
  }, 60_000)

  it("lets an API client use Jupyter's own token header and ?token= without counting them against the phone", async () => {
    const cookie = await curlSession(stage, at(mode, 'api/status'))
    const { token, notebookDir } = jupyters[mode]
    // Without Jupyter's token, Jupyter itself (Tornado) refuses: the request got past latchkey.
    const bare = await peerFetch(stage, cookie, at(mode, 'api/contents'))
    expect({ status: bare.status, server: bare.headers.get('server') }).toEqual({ status: 403, server: 'TornadoServer/6.2' })
    const put = await peerFetch(stage, cookie, at(mode, 'api/contents/from-api.ipynb'), {
      method: 'PUT',
      headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'notebook', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } }),
    })
    expect(put.status).toBe(201)
    expect(JSON.parse(readFileSync(join(notebookDir, 'from-api.ipynb'), 'utf8')).nbformat).toBe(4)
    // 30 of each, far over latchkey's 10 wrong guesses a minute: none is latchkey's to count.
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      statuses.push((await peerFetch(stage, cookie, at(mode, 'api/status'), { headers: { authorization: `token ${token}` } })).status)
      statuses.push((await peerFetch(stage, cookie, at(mode, `api/contents?token=${token}`))).status)
    }
    expect(statuses).toEqual(Array(60).fill(200))
    const listed = (await peerFetch(stage, cookie, at(mode, `api/contents?token=${token}`))).json()
    expect(listed.content.map((f: { name: string }) => f.name)).toContain('from-api.ipynb')
  }, 60_000)
})
