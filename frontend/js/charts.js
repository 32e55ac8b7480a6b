// @ts-check
// The app's charts, drawn by the app itself as SVG (through DOM APIs: no inline styles under
// the CSP): no library, nothing from elsewhere. Every chart comes with the same numbers as a
// table, which screen readers read instead of the drawing (the drawing is one image with a
// one-line summary). Colours come from app.css classes (light and dark); series also differ by
// dash and marker shape, so no chart relies on colour alone. The one chart module of the app:
// the therapist's workspace, the brief and the questionnaire trends all draw with it; keep it
// free of any screen.
import { h, nextId, svg } from './ui.js';

const SHAPES = ['circle', 'square', 'triangle', 'diamond'];

// --- tables --------------------------------------------------------------------------------

// `columns`: header labels; `rows`: arrays of cells (the first is the row's header).
// Hidden tables sit in a clipped box: a table itself ignores the width that clips it. A visible
// one scrolls sideways by itself on a narrow screen (focusable, so by keyboard too), its title
// above it staying in view: a <caption> would scroll away with the table.
/** @param {TableData} table */
export function dataTable({ caption, columns, rows, visible = false }) {
  const id = visible ? nextId('table') : null;
  const table = h('table', { class: 'data', 'aria-labelledby': id },
    visible ? null : h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, rows.map((row) => h('tr', {},
      row.map((cell, i) => (i === 0 ? h('th', { scope: 'row', text: String(cell) }) : h('td', { text: String(cell) })))))));
  if (!visible) return h('div', { class: 'sr-only' }, table);
  return h('div', { class: 'table-block' },
    h('p', { class: 'table-caption', id, text: caption }),
    h('div', { class: 'table-scroll', tabindex: '0', role: 'group', 'aria-labelledby': id }, table));
}

/** @param {Element} chart @param {{ legend?: Element, table: Element, className?: string }} parts */
function figure(chart, { legend, table, className = '' }) {
  return h('figure', { class: `chart-wrap ${className}`.trim() }, chart, legend || null, table);
}

/** @param {{ label: string }[]} series */
export function legend(series) {
  return h('figcaption', { class: 'legend', 'aria-hidden': 'true' },
    series.map((s, i) => h('span', { class: 'legend-item' },
      svg('svg', { viewBox: '0 0 28 12', width: '28', height: '12', class: `chart key-line s${i % 4}` },
        svg('line', { x1: '2', y1: '6', x2: '26', y2: '6', class: 'line' }),
        marker(i, 14, 6)),
      s.label)));
}

/** @param {string} viewBox @param {string} summary */
function image(viewBox, summary, extra = {}) {
  // One image with a one-line summary: the table beside it holds the numbers.
  return svg('svg', { viewBox, class: 'chart', role: 'img', 'aria-label': summary, ...extra });
}

// --- markers and scales ----------------------------------------------------------------------

/** @param {number} series its index @param {number} x @param {number} y */
function marker(series, x, y, r = 3.2) {
  const shape = SHAPES[series % SHAPES.length];
  const cls = 'marker';
  if (shape === 'circle') return svg('circle', { cx: x, cy: y, r, class: cls });
  if (shape === 'square') return svg('rect', { x: x - r, y: y - r, width: 2 * r, height: 2 * r, class: cls });
  if (shape === 'triangle') return svg('path', { d: `M${x} ${y - r * 1.2}L${x + r * 1.1} ${y + r}L${x - r * 1.1} ${y + r}Z`, class: cls });
  return svg('path', { d: `M${x} ${y - r * 1.3}L${x + r * 1.3} ${y}L${x} ${y + r * 1.3}L${x - r * 1.3} ${y}Z`, class: cls });
}

/** @param {number} d0 @param {number} d1 @param {number} r0 @param {number} r1 @returns {(v: number) => number} */
function linear(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

const DAY = 24 * 3600 * 1000;
const shortDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
/** @param {number} ms */
export const dayLabel = (ms) => shortDay.format(new Date(ms));

// --- line charts ---------------------------------------------------------------------------

// A score's bands (a questionnaire's "mild", "moderate"...) shaded behind the lines, each over
// its whole values (a band of 5–9 covers 4.5 to 9.5), in alternating tones; named inside the
// chart when `labels` is set and the band is tall enough for its name.
/**
 * @param {SVGSVGElement} chart @param {ChartBand[]} bands @param {(v: number) => number} y
 * @param {{ left: number, right: number, yMin: number, yMax: number, labels: boolean }} box
 */
function shadeBands(chart, bands, y, { left, right, yMin, yMax, labels }) {
  bands.forEach((band, i) => {
    const top = y(Math.min(yMax, band.max + 0.5));
    const bottom = y(Math.max(yMin, band.min - 0.5));
    if (bottom - top <= 0) return;
    chart.append(svg('rect', { class: `band b${i % 2}`, x: left, y: top, width: right - left, height: bottom - top }));
    if (labels && bottom - top >= 13) {
      chart.append(svg('text', { x: right - 4, y: top + 11, 'text-anchor': 'end', class: 'band-label' }, band.label));
    }
  });
}

// One panel: several series of {x (ms), y} over shared scales. Returns the SVG only.
/** @param {PanelOptions} panel */
function linePanel({ series, xMin, xMax, yMin, yMax, width, height, title, yTicks, summary, bands = [], bandLabels = false }) {
  const pad = { top: title ? 22 : 10, right: 10, bottom: 22, left: 26 };
  // One day only: a day either side, so its points stand in the middle, over their date.
  const x = xMin === xMax ? linear(xMin - DAY, xMax + DAY, pad.left, width - pad.right) : linear(xMin, xMax, pad.left, width - pad.right);
  const y = linear(yMin, yMax, height - pad.bottom, pad.top);
  const chart = image(`0 0 ${width} ${height}`, summary);
  if (title) chart.append(svg('text', { x: pad.left, y: 14, class: 'panel-title' }, title));
  shadeBands(chart, bands, y, { left: pad.left, right: width - pad.right, yMin, yMax, labels: bandLabels });
  for (const tick of yTicks) {
    chart.append(
      svg('line', { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: 'grid' }),
      svg('text', { x: pad.left - 6, y: y(tick) + 3.5, 'text-anchor': 'end', class: 'axis' }, String(tick)));
  }
  const ticks = xMin === xMax ? [xMin] : [xMin, xMax];
  ticks.forEach((t, i) => chart.append(svg('text', {
    x: x(t), y: height - 6, 'text-anchor': ticks.length === 1 ? 'middle' : i ? 'end' : 'start', class: 'axis',
  }, dayLabel(t))));
  series.forEach((s, i) => {
    const group = svg('g', { class: `s${i % 4}` });
    const points = [...s.points].sort((a, b) => a.x - b.x);
    if (points.length > 1) {
      group.append(svg('polyline', { class: 'line', points: points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ') }));
    }
    points.forEach((p) => group.append(marker(i, x(p.x), y(p.y))));
    chart.append(group);
  });
  return chart;
}

/** @param {number[]} values @param {number[]} fallback */
function extent(values, fallback) {
  return values.length ? [Math.min(...values), Math.max(...values)] : fallback;
}

// A line chart: `series` [{label, points: [{x: ms, y}]}], with `table` {caption, columns, rows};
// `bands` shaded behind. One series needs no legend: the heading beside it names it.
/** @param {Scale & { title: string, series: Series[], table: TableData, bands?: ChartBand[], bandLabels?: boolean, className?: string }} chart */
export function lineChart({ title, series, table, yMin = 0, yMax = 10, yTicks = [yMin, Math.round((yMin + yMax) / 2), yMax], width = 340, height = 170, bands = [], bandLabels = false, className = '' }) {
  const [xMin, xMax] = extent(series.flatMap((s) => s.points.map((p) => p.x)), [Date.now(), Date.now()]);
  const chart = linePanel({ series, xMin, xMax, yMin, yMax, width, height, title: null, yTicks, summary: title, bands, bandLabels });
  return figure(chart, { legend: series.length > 1 ? legend(series) : undefined, table: dataTable(table), className });
}

// Small multiples: one panel per measure, sharing the time scale and the value scale, so the
// eye compares shapes; one table for them all.
/** @param {Scale & { title: string, panels: { title: string, series: Series[] }[], series: { label: string }[], table: TableData }} chart */
export function smallMultiples({ title, panels, series, table, yMin = 0, yMax = 10, yTicks = [yMin, (yMin + yMax) / 2, yMax], width = 260, height = 140 }) {
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt.x)));
  const [xMin, xMax] = extent(all, [Date.now(), Date.now()]);
  const grid = h('div', { class: 'multiples', role: 'img', 'aria-label': title },
    panels.map((panel) => {
      const chart = linePanel({ ...panel, xMin, xMax, yMin, yMax, width, height, yTicks, summary: panel.title });
      chart.setAttribute('aria-hidden', 'true');
      chart.removeAttribute('role');
      return chart;
    }));
  return figure(grid, { legend: legend(series), table: dataTable(table), className: 'wide-figure' });
}

// --- bars ------------------------------------------------------------------------------------

// Done against target per week, with marks for disputed and withdrawn sessions.
// `weeks`: [{label, done, target, disputed, withdrawn}], oldest first.
/** @param {{ title: string, weeks: WeekBar[], table: TableData, width?: number, height?: number }} chart */
export function weekBars({ title, weeks, table, width = 360, height = 170 }) {
  const pad = { top: 18, right: 8, bottom: 24, left: 26 };
  const max = Math.max(1, ...weeks.map((w) => Math.max(w.target, w.done)));
  const slot = (width - pad.left - pad.right) / Math.max(1, weeks.length);
  const bar = Math.max(3, Math.min(26, slot * 0.7));
  const y = linear(0, max, height - pad.bottom, pad.top);
  const chart = image(`0 0 ${width} ${height}`, title);
  for (const tick of [0, max]) {
    chart.append(svg('text', { x: pad.left - 6, y: y(tick) + 3.5, 'text-anchor': 'end', class: 'axis' }, String(tick)));
  }
  // As many week labels as fit side by side (about 44 units each), the last always.
  const every = Math.ceil(weeks.length / Math.max(1, Math.floor((width - pad.left - pad.right) / 44)));
  weeks.forEach((w, i) => {
    const x = pad.left + slot * i + (slot - bar) / 2;
    chart.append(
      svg('rect', { class: 'target', x, y: y(w.target), width: bar, height: Math.max(0, y(0) - y(w.target)), rx: 2 }),
      svg('rect', { class: 'done', x: x + bar * 0.2, y: y(w.done), width: bar * 0.6, height: Math.max(0, y(0) - y(w.done)), rx: 2 }));
    if (w.disputed) chart.append(svg('text', { x: x + bar / 2, y: y(w.target) - 4, 'text-anchor': 'middle', class: 'flag-mark' }, '!'));
    else if (w.withdrawn) chart.append(svg('text', { x: x + bar / 2, y: y(w.target) - 4, 'text-anchor': 'middle', class: 'axis' }, '×'));
    const last = weeks.length - 1;
    if (i === last || (i % every === 0 && last - i >= every)) {
      chart.append(svg('text', { x: x + bar / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, w.label));
    }
  });
  const key = h('figcaption', { class: 'legend', 'aria-hidden': 'true' },
    h('span', { class: 'key target' }), 'target', h('span', { class: 'key done' }), 'done',
    h('span', { class: 'flag-mark' }, '!'), 'a dispute', h('span', {}, '×'), 'withdrawn');
  return figure(chart, { legend: key, table: dataTable(table) });
}

// A small horizontal bar for a table cell: the numbers are written next to it, so the bar
// itself is decoration.
/** @param {number} done @param {number} target */
export function miniBar(done, target) {
  const ratio = target ? Math.min(1, done / target) : 0;
  return svg('svg', { viewBox: '0 0 60 8', class: 'minibar', 'aria-hidden': 'true', focusable: 'false' },
    svg('rect', { class: 'target', x: '0', y: '0', width: '60', height: '8', rx: '4' }),
    svg('rect', { class: ratio >= 1 ? 'done full' : 'done', x: '0', y: '0', width: String(Math.round(60 * ratio)), height: '8', rx: '4' }));
}
