/**
 * The dashboard's files, embedded at build time (scripts/build.ts writes
 * src/generated/dashboard-assets.ts) so the binary reads nothing from public/ at run time.
 * Served from this fixed manifest only: there is no path to traverse.
 */
import { Buffer } from 'node:buffer'
import { escapeHtml, type PageStyle } from './pages.ts'

export interface Asset {
  type: string
  body: Uint8Array<ArrayBuffer>
  /** The same bytes gzipped, for clients that accept it. */
  gzip?: Uint8Array<ArrayBuffer>
  /** Content-hashed name: cache forever. */
  immutable: boolean
  etag: string
}

export interface Dashboard {
  assets: Map<string, Asset>
  cssHref: string | null
  /** The stylesheet for latchkey's pages where no file of latchkey's can be linked (app ports). */
  inlineStyle: PageStyle
  /** index.html with the API base filled in. */
  indexHtml(apiBase: string): string
}

interface GeneratedAsset {
  type: string
  base64: string
  gzip?: string
  immutable: boolean
  etag: string
}

export async function loadDashboard(): Promise<Dashboard> {
  let mod: { assets: Record<string, GeneratedAsset>; cssHref: string | null; indexTemplate: string }
  try {
    mod = await import('../generated/dashboard-assets.ts')
  } catch {
    throw new Error('The dashboard is not built: run `npm run build:assets` (or `npm start`, which builds it)')
  }
  const assets = new Map<string, Asset>()
  for (const [path, a] of Object.entries(mod.assets)) assets.set(path, new EmbeddedAsset(a))
  const css = mod.cssHref ? assets.get(mod.cssHref) : undefined
  return {
    assets,
    cssHref: mod.cssHref,
    inlineStyle: css ? inlineStyle(() => Buffer.from(css.body).toString('utf8')) : null,
    indexHtml: (apiBase) => mod.indexTemplate.replace('%API_BASE%', escapeHtml(apiBase)),
  }
}

/**
 * One embedded file, decoded on its first request rather than at start: a latchkey that
 * serves no browser (headless, or not yet opened) holds only the base64 text.
 */
class EmbeddedAsset implements Asset {
  readonly type: string
  readonly immutable: boolean
  readonly etag: string
  #source: GeneratedAsset
  #body?: Uint8Array<ArrayBuffer>
  #gzip?: Uint8Array<ArrayBuffer>

  constructor(source: GeneratedAsset) {
    this.type = source.type
    this.immutable = source.immutable
    this.etag = source.etag
    this.#source = source
  }

  get body(): Uint8Array<ArrayBuffer> {
    return (this.#body ??= decode(this.#source.base64))
  }

  get gzip(): Uint8Array<ArrayBuffer> | undefined {
    return this.#source.gzip === undefined ? undefined : (this.#gzip ??= decode(this.#source.gzip))
  }
}

// Native base64 decoding: a per-character copy of the bundle cost milliseconds of every start.
const decode = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64')) as Uint8Array<ArrayBuffer>

export function assetResponse(asset: Asset, request: Request): Response {
  const headers: Record<string, string> = {
    'content-type': asset.type,
    etag: asset.etag,
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  }
  if (asset.gzip) headers.vary = 'Accept-Encoding'
  if (request.headers.get('if-none-match') === asset.etag) return new Response(null, { status: 304, headers })
  const gzip = asset.gzip && /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')
  if (gzip) headers['content-encoding'] = 'gzip'
  return new Response(request.method === 'HEAD' ? null : gzip ? asset.gzip! : asset.body, { headers })
}

/**
 * A stylesheet inline, with the CSP that allows exactly it (by its SHA-256) and nothing else,
 * both made on first use (only latchkey's own pages on an app port show it).
 */
function inlineStyle(text: () => string): PageStyle {
  let made: { css: string; csp: string } | undefined
  const make = () => {
    if (made) return made
    const css = text()
    const hash = process.getBuiltinModule('node:crypto').createHash('sha256').update(css, 'utf8').digest('base64')
    return (made = { css, csp: `default-src 'none'; style-src 'sha256-${hash}'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'` })
  }
  return {
    get css() {
      return make().css
    },
    get csp() {
      return make().csp
    },
  }
}
