// Parses a Go time.Duration string such as "30s", "1m30s", "500ms" into milliseconds
// (used for cloudflared --grace-period, facts section 1.7). Returns null when invalid.
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseGoDuration(text: string): number | null {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    re.lastIndex = index;
    const m = re.exec(text);
    if (!m) return null;
    total += Number(m[1]) * UNITS[m[2]!]!;
    index = re.lastIndex;
  }
  return index > 0 ? total : null;
}
