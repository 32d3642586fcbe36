/**
 * Cost per user per month against users, as a standalone SVG (log-scale x),
 * drawn from the model's points without any library.
 */

export interface CurvePoint {
  users: number;
  perUser: number;
  perUserWithoutCognito: number;
}

export interface ChartOptions {
  title: string;
  /** User counts to mark and label on the total curve (the report's scales). */
  marks: readonly { users: number; perUser: number; label: string }[];
  width?: number;
  height?: number;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number) => Number(n.toFixed(1)).toString();

function usersLabel(n: number): string {
  if (n >= 1e9) return `${n / 1e9}G`;
  if (n >= 1e6) return `${n / 1e6}M`;
  if (n >= 1e3) return `${n / 1e3}k`;
  return String(n);
}

/** A round upper bound for the y axis and its tick step. */
function yScale(max: number): { top: number; step: number } {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * power).find((s) => s >= raw) ?? 10 * power;
  return { top: Math.ceil(max / step) * step, step };
}

export function costPerUserSvg(points: readonly CurvePoint[], options: ChartOptions): string {
  if (points.length < 2) throw new Error('costPerUserSvg needs at least two points');
  const width = options.width ?? 760;
  const height = options.height ?? 420;
  const m = { left: 78, right: 24, top: 48, bottom: 70 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;

  const minX = Math.log10(points[0]!.users);
  const maxX = Math.log10(points[points.length - 1]!.users);
  const maxY = Math.max(...points.map((p) => p.perUser), ...options.marks.map((k) => k.perUser));
  const { top, step } = yScale(maxY * 1.1);
  const x = (users: number) => m.left + ((Math.log10(users) - minX) / (maxX - minX)) * plotW;
  const y = (usd: number) => m.top + plotH - (usd / top) * plotH;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${xml(options.title)}</text>`);

  // Grid and y axis.
  for (let v = 0; v <= top + step / 2; v += step) {
    const yy = fmt(y(v));
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${yy}" y2="${yy}" stroke="#e5e7eb"/>`);
    parts.push(
      `<text x="${m.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#374151">$${v.toFixed(3)}</text>`,
    );
  }
  // Decades on x.
  for (let d = Math.ceil(minX); d <= Math.floor(maxX); d++) {
    const xx = fmt(x(10 ** d));
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${m.top}" y2="${m.top + plotH}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${xx}" y="${m.top + plotH + 18}" text-anchor="middle" fill="#374151">${usersLabel(10 ** d)}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#6b7280"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#6b7280"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 34}" text-anchor="middle" fill="#111827">users (log scale)</text>`);
  parts.push(
    `<text x="18" y="${m.top + plotH / 2}" text-anchor="middle" fill="#111827" transform="rotate(-90 18 ${m.top + plotH / 2})">USD per user per month</text>`,
  );

  const path = (get: (p: CurvePoint) => number) => points.map((p) => `${fmt(x(p.users))},${fmt(y(get(p)))}`).join(' ');
  parts.push(
    `<polyline fill="none" stroke="#9ca3af" stroke-width="2" stroke-dasharray="6 4" points="${path((p) => p.perUserWithoutCognito)}"/>`,
  );
  parts.push(`<polyline fill="none" stroke="#2563eb" stroke-width="2.5" points="${path((p) => p.perUser)}"/>`);

  // Labels above their point; at the edges, and for the first mark (the curve may rise right of it), beside it.
  options.marks.forEach((mark, i) => {
    const px = x(mark.users);
    const cy = fmt(y(mark.perUser));
    parts.push(`<circle cx="${fmt(px)}" cy="${cy}" r="4" fill="#2563eb"/>`);
    const anchor = px < m.left + 70 ? 'start' : px > m.left + plotW - 70 || i === 0 ? 'end' : 'middle';
    const lx = anchor === 'start' ? px + 6 : anchor === 'end' ? px - 6 : px;
    parts.push(
      `<text x="${fmt(lx)}" y="${fmt(y(mark.perUser) - 10)}" text-anchor="${anchor}" fill="#1e3a8a">${xml(mark.label)}</text>`,
    );
  });

  // Legend.
  const ly = height - 14;
  parts.push(`<line x1="${m.left}" x2="${m.left + 28}" y1="${ly}" y2="${ly}" stroke="#2563eb" stroke-width="2.5"/>`);
  parts.push(`<text x="${m.left + 34}" y="${ly}" dominant-baseline="middle">total</text>`);
  parts.push(
    `<line x1="${m.left + 90}" x2="${m.left + 118}" y1="${ly}" y2="${ly}" stroke="#9ca3af" stroke-width="2" stroke-dasharray="6 4"/>`,
  );
  parts.push(`<text x="${m.left + 124}" y="${ly}" dominant-baseline="middle">without Cognito (first 10,000 MAU free)</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
