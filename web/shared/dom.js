// DOM building shared by the web POS and the merchant portal. Everything a merchant,
// clerk or device typed (names, metadata, references) reaches the page through h(),
// which turns strings into text nodes: data is never parsed as HTML.

/**
 * Tiny hyperscript helper: h('button', {class, onclick, testid}, 'text', childNode, [more]).
 * `html` sets innerHTML and is only for our own static SVG (icons, QR codes we encoded).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'html') el.innerHTML = v; // only for our own static SVG
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
