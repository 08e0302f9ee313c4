/** Line charts as standalone SVG: panels side by side, one line per series, shared x axis meaning. */

export interface Series {
  name: string;
  color: string;
  points: Array<{ x: number; y: number | undefined }>;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed y range; default 0..max*1.1. */
  yMin?: number;
  yMax?: number;
  /** Horizontal reference line (a target), dashed. */
  reference?: { y: number; label: string };
}

const W = 460;
const H = 320;
const M = { left: 62, right: 16, bottom: 46 };
/** Legend above the plot: two columns, one row per two series. */
const legendRows = (p: Panel) => Math.ceil(p.series.length / 2);
const topOf = (p: Panel) => 34 + legendRows(p) * 15 + 6;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

function panel(p: Panel, ox: number): string {
  const xs = p.series.flatMap((s) => s.points.map((q) => q.x));
  const ys = p.series.flatMap((s) => s.points.map((q) => q.y).filter((y): y is number => y !== undefined && Number.isFinite(y)));
  if (p.reference) ys.push(p.reference.y);
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(1, ...xs);
  const yMin = p.yMin ?? Math.min(0, ...ys);
  const yMax = p.yMax ?? (ys.length ? Math.max(...ys) * 1.1 || 1 : 1);
  const top = topOf(p);
  const pw = W - M.left - M.right;
  const ph = H - top - M.bottom;
  const sx = (x: number) => ox + M.left + ((x - xMin) / (xMax - xMin || 1)) * pw;
  const sy = (y: number) => top + ph - ((Math.min(Math.max(y, yMin), yMax) - yMin) / (yMax - yMin || 1)) * ph;
  const out: string[] = [];
  out.push(`<text x="${ox + W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  for (const t of ticks(yMin, yMax)) {
    out.push(`<line x1="${ox + M.left}" x2="${ox + W - M.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${ox + M.left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of ticks(xMin, xMax, 6)) {
    out.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${top + ph}" y2="${top + ph + 4}" stroke="#555"/>`);
    out.push(`<text x="${sx(t)}" y="${top + ph + 17}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${ox + M.left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#555"/>`);
  out.push(`<text x="${ox + M.left + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  out.push(
    `<text transform="translate(${ox + 16},${top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`,
  );
  if (p.reference) {
    const y = sy(p.reference.y);
    out.push(`<line x1="${ox + M.left}" x2="${ox + W - M.right}" y1="${y}" y2="${y}" stroke="#999" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${ox + W - M.right - 4}" y="${y - 4}" text-anchor="end" font-size="10" fill="#777">${esc(p.reference.label)}</text>`);
  }
  p.series.forEach((s, i) => {
    const pts = s.points.filter((q): q is { x: number; y: number } => q.y !== undefined && Number.isFinite(q.y));
    if (pts.length > 1) {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((q) => `${sx(q.x).toFixed(1)},${sy(q.y).toFixed(1)}`).join(" ")}"/>`);
    }
    for (const q of pts) {
      const [cx, cy] = [sx(q.x).toFixed(1), sy(q.y).toFixed(1)];
      // Alternate marker shapes, so that series lying on top of each other stay visible.
      out.push(
        i % 2 === 0
          ? `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"/>`
          : `<rect x="${+cx - 5}" y="${+cy - 5}" width="10" height="10" fill="none" stroke="${s.color}" stroke-width="1.5"/>`,
      );
    }
    const lx = ox + M.left + (i % 2) * (pw / 2);
    const ly = 34 + Math.floor(i / 2) * 15 + 8;
    out.push(`<rect x="${lx}" y="${ly - 6}" width="12" height="4" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 17}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join("\n");
}

export function chart(title: string, panels: Panel[]): string {
  const width = W * panels.length;
  const height = H + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="${height - 6}" font-size="11" fill="#666">${esc(title)}</text>`,
    ...panels.map((p, i) => panel(p, i * W)),
    "</svg>",
    "",
  ].join("\n");
}
