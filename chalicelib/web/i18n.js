// The pages' languages: Russian (the source texts, gettext-style msgids) and Kazakh.
//
// One catalogue per language (i18n-ru.js, i18n-kk.js) maps a Russian source text to its
// translation; the Russian catalogue is empty because the source is Russian. The static
// texts of a page are translated in place (each text node and label-like attribute keeps
// its Russian source, so the switch goes both ways); scripts translate through `t()`.
// The choice is remembered in localStorage (only once the borrower makes one) and sent
// as Accept-Language on every API call, so the API answers in the same language.

import ru from "./i18n-ru.js";
import kk from "./i18n-kk.js";

export const LANGUAGES = { ru: { catalogue: ru, locale: "ru-RU" }, kk: { catalogue: kk, locale: "kk-KZ" } };
const KEY = "hava.lang";
const ATTRIBUTES = ["aria-label", "placeholder", "title", "alt"];

function stored() {
  try { return localStorage.getItem(KEY); } catch { return null; }
}

// Only pages that offer the switch (`<html data-languages>`: the borrower's) follow the
// choice; the support desk shares the origin and its localStorage but stays Russian.
const offered = document.documentElement.hasAttribute("data-languages");
let current = offered && LANGUAGES[stored()] ? stored() : "ru";

/** The page's language code: "ru" or "kk". */
export const lang = () => current;
/** The Intl locale of the page's language. */
export const locale = () => LANGUAGES[current].locale;

/** A text in the page's language; `{name}` placeholders filled from `params`. */
export function t(source, params = {}) {
  const text = LANGUAGES[current].catalogue[source] || source;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

const sources = new WeakMap();
const attributeSources = new WeakMap();

/** Translate every static text node and attribute under `root` (keeps the Russian source). */
export function translateStatic(root = document.body) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement && node.parentElement.closest("[data-dynamic], script, style")) continue;
    let source = sources.get(node);
    if (source === undefined) {
      const text = node.nodeValue.trim();
      if (!text) continue;
      source = text;
      sources.set(node, source);
    }
    const translated = t(source);
    const value = node.nodeValue;
    const start = value.match(/^\s*/)[0];
    const end = value.match(/\s*$/)[0];
    node.nodeValue = `${start}${translated}${end}`;
  }
  for (const element of root.querySelectorAll(ATTRIBUTES.map((a) => `[${a}]`).join(","))) {
    if (element.closest("[data-dynamic]")) continue;
    let saved = attributeSources.get(element);
    if (!saved) {
      saved = Object.fromEntries(ATTRIBUTES.filter((a) => element.hasAttribute(a)).map((a) => [a, element.getAttribute(a)]));
      attributeSources.set(element, saved);
    }
    for (const [name, source] of Object.entries(saved)) element.setAttribute(name, t(source));
  }
  document.documentElement.lang = current;
}

/** Switch the language: remembered, the static page translated; returns the new code. */
export function setLang(code) {
  if (!LANGUAGES[code]) return current;
  current = code;
  try { localStorage.setItem(KEY, code); } catch { /* private mode: this page only */ }
  translateStatic();
  return current;
}
