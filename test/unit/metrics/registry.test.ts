/**
 * The metrics registry renders the Prometheus text format that a strict reader accepts:
 * escaped label values and HELP text, cumulative histogram buckets ending in +Inf, bounded
 * label sets; and the test reader itself refuses what a Prometheus server would.
 */
import { describe, expect, it } from 'bun:test'
import { Registry } from '../../../src/metrics/registry.ts'
import { escapeHelp, escapeLabelValue, formatValue } from '../../../src/metrics/exposition.ts'
import { codeLabel, LatchkeyMetrics, sessionKind, type ScrapeSources } from '../../../src/metrics/latchkey-metrics.ts'
import { parseExposition, sampleValue } from '../../helpers/prometheus-text.ts'

describe('exposition', () => {
  it('escapes backslash, double quote and line feed in label values, and only backslash and line feed in HELP', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    expect(escapeLabelValue('plain-name')).toBe('plain-name')
    expect(escapeHelp('a\\b "c"\nd')).toBe('a\\\\b "c"\\nd')
  })

  it('writes infinities and NaN as Go reads them', () => {
    expect([formatValue(Infinity), formatValue(-Infinity), formatValue(NaN), formatValue(0.25), formatValue(3)]).toEqual(['+Inf', '-Inf', 'NaN', '0.25', '3'])
  })
})

describe('Registry', () => {
  it('renders counters, histograms and scrape-time gauges that read back exactly', () => {
    const r = new Registry()
    const c = r.counter('t_requests_total', 'Requests "served"\nper path \\ kind', ['path'])
    const tricky = 'a\\b"c\nd}{,='
    c.labels(tricky).inc(2)
    c.labels('/x').inc()
    const h = r.histogram('t_duration_seconds', 'Durations', ['app'], [0.1, 1])
    for (const v of [0.05, 0.1, 0.5, 5]) h.labels('one').observe(v)
    r.gauge('t_up', 'Up', ['app'], () => [[['one'], 1], [['two'], 0]])
    const text = r.render()
    const fams = parseExposition(text)
    expect(fams.get('t_requests_total')!.help).toBe('Requests "served"\nper path \\ kind')
    expect(sampleValue(fams, 't_requests_total', { path: tricky })).toBe(2)
    expect(sampleValue(fams, 't_requests_total', { path: '/x' })).toBe(1)
    expect(fams.get('t_duration_seconds')!.type).toBe('histogram')
    // 0.1 falls in le="0.1" (upper bounds are inclusive); 5 only in +Inf.
    expect(sampleValue(fams, 't_duration_seconds_bucket', { app: 'one', le: '0.1' })).toBe(2)
    expect(sampleValue(fams, 't_duration_seconds_bucket', { app: 'one', le: '1' })).toBe(3)
    expect(sampleValue(fams, 't_duration_seconds_bucket', { app: 'one', le: '+Inf' })).toBe(4)
    expect(sampleValue(fams, 't_duration_seconds_count', { app: 'one' })).toBe(4)
    expect(sampleValue(fams, 't_duration_seconds_sum', { app: 'one' })).toBeCloseTo(5.65)
    expect(sampleValue(fams, 't_up', { app: 'two' })).toBe(0)
    expect(fams.get('t_up')!.samples).toHaveLength(2)
  })

  it('shows a counter without labels at 0 before anything happened', () => {
    const r = new Registry()
    r.counter('t_restarts_total', 'Restarts')
    expect(r.render()).toBe('# HELP t_restarts_total Restarts\n# TYPE t_restarts_total counter\nt_restarts_total 0\n')
  })

  it('keeps at most maxSeries label sets: the rest share one "_other" series', () => {
    const r = new Registry()
    const c = r.counter('t_total', 'T', ['app'], 3)
    for (let i = 0; i < 50; i++) c.labels(`app-${i}`).inc()
    const fams = parseExposition(r.render())
    expect(fams.get('t_total')!.samples).toHaveLength(4)
    expect(sampleValue(fams, 't_total', { app: '_other' })).toBe(47)
  })

  it('refuses invalid and repeated names, reserved labels and unordered buckets', () => {
    const r = new Registry()
    r.counter('t_total', 'T')
    expect(() => r.counter('t_total', 'T')).toThrow(/registered twice/)
    expect(() => r.counter('t-bad', 'T')).toThrow(/Invalid metric name/)
    expect(() => r.counter('t2_total', 'T', ['__name'])).toThrow(/Invalid label name/)
    expect(() => r.histogram('t3_seconds', 'T', ['le'], [1])).toThrow(/Invalid label name/)
    expect(() => r.histogram('t4_seconds', 'T', [], [1, 1])).toThrow(/increasing/)
    expect(() => r.counter('t5_total', 'T', ['a']).labels()).toThrow(/takes 1 label values/)
  })
})

describe('label bounds', () => {
  it('keeps statuses to three digits and session kinds to what latchkey names, never an id', () => {
    expect([codeLabel(200), codeLabel(599), codeLabel(600), codeLabel(99), codeLabel(2.5)]).toEqual(['200', '599', '_other', '_other', '_other'])
    expect([sessionKind('short-lived:a1b2c3'), sessionKind('access-token:1a2b3c4d'), sessionKind('Weird Issuer'), sessionKind('x'.repeat(40))]).toEqual(['short-lived', 'access-token', '_other', '_other'])
  })
})

describe('LatchkeyMetrics', () => {
  const sources = (over: Partial<ScrapeSources> = {}): ScrapeSources => ({
    sessions: () => [{ role: 'admin', issuer: 'access-token:aa' }, { role: 'viewer', issuer: 'short-lived:bb' }, { role: 'viewer', issuer: 'short-lived:cc' }],
    tunnel: () => ({ provider: null, state: 'stopped', states: ['stopped', 'running'], restarts: 2 }),
    apps: () => [{ name: 'notebook', health: 'up' }],
    webhooks: () => [{ id: 0, delivered: 3, failed: 1, dropped: 0 }],
    ...over,
  })

  it('counts the hooks and reads the sources at scrape time, under the latchkey_ and process_ prefixes', () => {
    const m = new LatchkeyMetrics({ version: '1.2.3', commit: 'abc', runtime: 'bun', startedAt: 1_700_000_000_123 })
    const api = m.requests('api')
    api(200)
    api(200)
    api(401)
    m.guardDecision('anonymous', 401)
    m.guardDecision('api-key', 'admitted')
    m.appRequest('notebook', 200, 1234, 0.003)
    const fams = parseExposition(m.scrape(sources()))
    for (const f of fams.values()) {
      expect(f.name).toMatch(/^(latchkey|process)_/)
      expect(f.help).toBeTruthy()
      if (f.type === 'counter') expect(f.name).toEndWith('_total')
    }
    expect(sampleValue(fams, 'latchkey_build_info', { version: '1.2.3', commit: 'abc', runtime: 'bun' })).toBe(1)
    expect(sampleValue(fams, 'process_start_time_seconds')).toBe(1_700_000_000.123)
    expect(sampleValue(fams, 'latchkey_http_requests_total', { listener: 'api', code: '200' })).toBe(2)
    expect(sampleValue(fams, 'latchkey_guard_decisions_total', { via: 'anonymous', outcome: '401' })).toBe(1)
    expect(sampleValue(fams, 'latchkey_guard_decisions_total', { via: 'api-key', outcome: 'admitted' })).toBe(1)
    expect(sampleValue(fams, 'latchkey_active_sessions', { role: 'viewer', kind: 'short-lived' })).toBe(2)
    expect(sampleValue(fams, 'latchkey_tunnel_state', { provider: 'none', state: 'stopped' })).toBe(1)
    expect(sampleValue(fams, 'latchkey_tunnel_state', { provider: 'none', state: 'running' })).toBe(0)
    expect(sampleValue(fams, 'latchkey_tunnel_restarts_total')).toBe(2)
    expect(sampleValue(fams, 'latchkey_app_requests_total', { app: 'notebook', code: '200' })).toBe(1)
    expect(sampleValue(fams, 'latchkey_app_response_bytes_total', { app: 'notebook' })).toBe(1234)
    expect(sampleValue(fams, 'latchkey_app_request_duration_seconds_bucket', { app: 'notebook', le: '0.0025' })).toBe(0)
    expect(sampleValue(fams, 'latchkey_app_request_duration_seconds_bucket', { app: 'notebook', le: '0.005' })).toBe(1)
    expect(sampleValue(fams, 'latchkey_app_health', { app: 'notebook', state: 'up' })).toBe(1)
    expect(sampleValue(fams, 'latchkey_webhook_failures_total', { webhook: '0' })).toBe(1)
  })

  it('refuses to read the sources outside a scrape', () => {
    const m = new LatchkeyMetrics({ version: '1', commit: 'c', runtime: 'bun' })
    expect(() => m.registry.render()).toThrow(/outside a scrape/)
  })
})

describe('parseExposition (the test reader)', () => {
  const bad: [string, string][] = [
    ['no final line feed', '# TYPE a counter\na 1'],
    ['an unknown escape', 'a{x="\\t"} 1\n'],
    ['an unknown escape in HELP', '# HELP a x \\" y\na 1\n'],
    ['an unquoted label value', 'a{x=1} 1\n'],
    ['a bad metric name', '1a 1\n'],
    ['TYPE after samples', 'a 1\n# TYPE a counter\n'],
    ['interleaved families', 'a 1\nb 1\na{x="y"} 2\n'],
    ['a repeated series', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['a negative counter', '# TYPE a counter\na -1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['a value that is not a float', 'a one\n'],
  ]
  for (const [what, text] of bad) it(`refuses ${what}`, () => expect(() => parseExposition(text)).toThrow(/Invalid exposition/))
})
