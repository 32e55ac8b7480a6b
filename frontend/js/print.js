// @ts-check
// Printing (the session brief, a partner's week or preparation): what is printed and when,
// in the margin of every printed page, beside the page numbers app.css puts there.
// The rule is added through the CSSOM, which the CSP allows (it forbids inline style elements
// and attributes, not rules written by the app's own script).
/** @type {CSSStyleSheet | null} */
let sheet = null;

/** @param {string} text */
function cssString(text) {
  return `"${String(text).replace(/[\\"]/g, '\\$&').replace(/[\n\r\f]+/g, ' ')}"`;
}

function clear() {
  document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  sheet = null;
}

// Sets the printed pages' header until the next screen.
/** @param {string} text */
export function pageHeader(text) {
  const next = new CSSStyleSheet();
  next.replaceSync(`@page { @top-left { content: ${cssString(text)}; } }`);
  clear();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, next];
  sheet = next;
  window.addEventListener('hashchange', clear, { once: true });
}

// A local date range, as people write it: "2 – 30 Nov 2026".
/** @param {LocalDate} since @param {LocalDate} until */
export function rangeLabel(since, until) {
  const fmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  const a = new Date(`${since}T00:00:00Z`);
  const b = new Date(`${until}T00:00:00Z`);
  return since === until ? fmt.format(a) : fmt.formatRange(a, b);
}
