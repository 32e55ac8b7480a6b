// @ts-check
// A line chart drawn by the app (SVG through DOM APIs: no inline styles under the CSP), with a
// table behind it for screen readers. Shared by the questionnaire trends; other charts may use it.
import { h, shortDate, svg } from '../ui.js';

let charts = 0;

// points: oldest first; bands: shaded behind.
/**
 * @param {{ x: Instant, y: number, note?: string }[]} points
 * @param {{ label: string, min?: number, max?: number, bands?: Band[], unit?: string }} options
 */
export function lineChart(points, { label, min = 0, max, bands = [], unit = 'Score' }) {
  const id = `line-${++charts}`;
  const W = 340;
  const H = 170;
  const pad = { top: 10, bottom: 26, left: 30, right: 10 };
  const top = Math.max(max ?? 0, ...points.map((p) => p.y), min + 1);
  /** @param {number} i */
  const x = (i) => pad.left + (points.length < 2 ? (W - pad.left - pad.right) / 2 : ((W - pad.left - pad.right) * i) / (points.length - 1));
  /** @param {number} v */
  const y = (v) => pad.top + (H - pad.top - pad.bottom) * (1 - (v - min) / (top - min));
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': id },
    svg('title', { id }, label));
  bands.forEach((b, i) => chart.append(svg('rect', {
    class: `band b${i % 2}`, x: pad.left, width: W - pad.left - pad.right,
    y: y(Math.min(top, b.max + 0.5)), height: Math.max(0, y(Math.max(min, b.min - 0.5)) - y(Math.min(top, b.max + 0.5))),
  })));
  for (const v of [min, top]) chart.append(svg('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, String(v)));
  if (points.length > 1) {
    chart.append(svg('polyline', { class: 'line', points: points.map((p, i) => `${x(i)},${y(p.y)}`).join(' ') }));
  }
  points.forEach((p, i) => chart.append(
    svg('circle', { class: 'point', cx: x(i), cy: y(p.y), r: 4 }),
    svg('text', { x: x(i), y: H - 8, 'text-anchor': 'middle', class: 'axis' }, shortDate(p.x).split(' ').slice(1).join(' '))
  ));
  const table = h('table', { class: 'sr-only' }, h('caption', { text: label }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Date' }), h('th', { scope: 'col', text: unit }), h('th', { scope: 'col', text: 'Meaning' }))),
    h('tbody', {}, points.map((p) => h('tr', {}, h('td', { text: shortDate(p.x) }), h('td', { text: String(p.y) }), h('td', { text: p.note || '' })))));
  return h('figure', { class: 'chart-wrap' }, chart, table);
}
