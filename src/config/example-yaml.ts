/**
 * latchkey.example.yaml, generated from the option table: every key commented out at its
 * default, with its help line and how to set it otherwise. `npm run gen:example` writes it;
 * a test keeps the committed file equal to this output.
 */
import { OPTIONS, type OptionSpec } from '../cli.ts'

const SAMPLES: Record<string, string[]> = {
  admins: ['admins:            # Tailscale UserProfile.ID values; comments are for humans', '  - "12345"        # alice@github'],
  apps: [
    'apps:',
    '  - name: notebook',
    '    target: http://127.0.0.1:8888',
    '    port: 3101          # own listener: works with any app',
    '  - name: grafana',
    '    target: http://127.0.0.1:3001',
    '    path: /apps/grafana # path mode on the dashboard port, for apps with a base-path setting',
    '    role: viewer        # minimum role to use it (default viewer)',
    '    identityHeaders: true   # pass who the caller is to the app (default false)',
  ],
  webhooks: [
    'webhooks:',
    '  - url: https://ntfy.example.com/latchkey',
    '    events: [device.signed_in, session.revoked, tunnel.failed, tunnel.started, admin.denied, share.opened]',
    '    secretFile: /run/secrets/latchkey-webhook   # HMAC-SHA256 signature header when set',
  ],
}

function scalar(o: OptionSpec): string {
  const d = o.default
  if (Array.isArray(d)) return d.length ? `[${d.join(', ')}]` : '[]'
  if (d === undefined || d === '') return o.type === 'secret' ? '""' : '""'
  return typeof d === 'string' && /[:#\s]/.test(d) ? JSON.stringify(d) : String(d)
}

export function exampleYaml(): string {
  const out = ['# latchkey.yaml: the operator\'s settings (latchkey never writes this file).', '# Every key is shown commented out at its default. Precedence: flag > environment > this file > default.', '']
  let parent = ''
  for (const o of OPTIONS.filter((o) => o.yaml)) {
    const parts = o.yaml!.split('.')
    const name = parts.at(-1)!
    const nested = parts.length > 1
    if (nested && parts[0] !== parent) {
      parent = parts[0]
      out.push(`# ${parent}:`)
    } else if (!nested) parent = ''
    const indent = nested ? '  ' : ''
    const how = [o.flag && `flag ${o.flag}`, o.env && `env ${o.env}`].filter(Boolean).join(', ')
    out.push(`# ${indent ? indent + '# ' : ''}${o.help}${how ? ` (${how})` : ''}`)
    if (SAMPLES[o.key]) out.push(...SAMPLES[o.key].map((l) => `# ${indent}${l}`))
    else out.push(`# ${indent}${name}: ${scalar(o)}${o.values ? `   # one of: ${o.values.join(', ')}` : ''}`)
    out.push('')
  }
  return out.join('\n')
}
