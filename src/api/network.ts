/**
 * /api/network: this machine's addresses, and opening a loopback-only latchkey on one of
 * them without a restart (server/network-access.ts). Admin only; opening is for the local
 * user alone, on the machine itself, as the SSH-tunnel journey has it. Closing is for any
 * admin: it only takes access away.
 */
import { Elysia, t } from 'elysia'
import type { Services } from '../context.ts'
import { guardPlugin } from '../guard/plugin.ts'
import { ApiError } from '../errors.ts'
import { machineAddresses } from '../connect/machine-addresses.ts'
import { baseUrl } from '../connect/connect-address.ts'

const model = {
  address: t.Object({ address: t.String({ minLength: 1, maxLength: 64, error: 'must be one of this machine\'s addresses, e.g. 192.168.1.20' }) }, { additionalProperties: false }),
}

/** What the Connect view lists: every address, whether latchkey listens there, and where a phone would open it. */
export function describeNetwork(s: Services) {
  const opened = new Set(s.network.opened())
  const port = s.ports.dashboard
  return {
    host: s.config.host,
    port,
    everywhere: s.network.everywhere,
    /** Opened addresses last until latchkey stops; `--host` makes one permanent. */
    lasts: 'until-stop',
    addresses: machineAddresses().map((a) => {
      const open = s.network.everywhere || opened.has(a.address) || a.address === s.config.host
      return { ...a, open, openedHere: opened.has(a.address), url: open && port ? `${baseUrl(a.address, port)}/` : null }
    }),
  }
}

export function networkRoutes(services: Services) {
  return new Elysia({ name: 'api.network', prefix: '/api/network' })
    .use(guardPlugin(services.guard))
    .get('/', () => describeNetwork(services), { role: 'admin' })
    .post('/open', async ({ body, caller }) => {
      if (!caller.local) throw new ApiError(403, 'local_only', 'Opening this machine to a network is done on the machine itself, in the dashboard there')
      await services.network.open(body.address)
      return describeNetwork(services)
    }, { role: 'admin', body: model.address })
    .post('/close', async ({ body }) => {
      if (!(await services.network.close(body.address))) throw new ApiError(404, 'not_open', `latchkey was not opened on ${body.address} from the dashboard`, 'address')
      return describeNetwork(services)
    }, { role: 'admin', body: model.address })
}
