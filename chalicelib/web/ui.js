// Small DOM helpers: no innerHTML anywhere (the CSP requires Trusted Types).

import { t, lang, locale } from "./i18n.js";

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** An element with attributes/properties and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

let nextNotice = "";
let noticeTimer = 0;

/**
 * Show one view, hide the others, move focus to its heading (or to `focus`).
 * The status line and the alert belong to the view that was left: both are cleared,
 * except a notice queued for this view with `announceNext`.
 */
export function show(id, focus = null) {
  for (const view of $$(".view")) view.hidden = view.id !== `view-${id}`;
  const view = $(`#view-${id}`);
  const heading = view && $("h1", view);
  clearAlert();
  clearTimeout(noticeTimer);
  $("#status").textContent = "";
  if (nextNotice) { announce(nextNotice); nextNotice = ""; }
  if (heading) {
    heading.tabIndex = -1;
    document.title = `${heading.textContent} — Hava`;
  }
  const target = focus || heading;
  if (target) target.focus({ preventScroll: false });
  window.scrollTo(0, 0);
}

/** A polite announcement of success or progress in the current view (never an error). */
export function announce(message) {
  const status = $("#status");
  status.textContent = "";
  clearTimeout(noticeTimer);
  // A fresh text node so screen readers read a repeated message again.
  noticeTimer = setTimeout(() => { status.textContent = message; }, 30);
}

/** A notice for the view about to be shown (the navigation would clear it otherwise). */
export function announceNext(message) {
  nextNotice = message;
}

/** An assertive error for the whole page. */
export function alertError(message) {
  const box = $("#alert");
  box.textContent = message;
  box.hidden = false;
}

export function clearAlert() {
  const box = $("#alert");
  box.textContent = "";
  box.hidden = true;
}

/** Remove every field error of a form. */
export function clearErrors(form) {
  for (const node of $$(".field-error[data-generated]", form)) node.remove();
  for (const input of $$("[aria-invalid]", form)) {
    input.removeAttribute("aria-invalid");
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.endsWith("-apierror"));
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }
}

/** One field's own error beside it (an empty message removes it). */
export function setFieldError(input, message) {
  const id = `${input.id}-apierror`;
  const old = document.getElementById(id);
  if (old) old.remove();
  const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== id);
  if (!message) {
    input.removeAttribute("aria-invalid");
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
    return;
  }
  const holder = input.closest(".field, .slider-field") || input.parentElement;
  holder.append(el("p", { class: "field-error", id, "data-generated": "1" }, message));
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", [...ids, id].join(" "));
}

/**
 * Put the API's `error.fields` beside the fields of `form` (by input name).
 * Returns the names it could not place (shown in the page alert instead).
 */
export function showFieldErrors(form, fields) {
  const unplaced = [];
  let first = null;
  for (const [name, message] of Object.entries(fields || {})) {
    const input = form.elements.namedItem(name);
    if (!input || !input.id) { unplaced.push(message); continue; }
    setFieldError(input, message);
    first = first || input;
  }
  if (first) first.focus();
  return unplaced;
}

/** The values of a form's named controls (checkboxes as booleans, empty optional → omitted). */
export function formValues(form) {
  const values = {};
  for (const control of form.elements) {
    if (!control.name || control.disabled) continue;
    if (control.type === "checkbox") values[control.name] = control.checked;
    else if (control.type === "file") continue;
    else values[control.name] = control.value;
  }
  return values;
}

/**
 * The locale numbers are written in. Kazakh writes numbers exactly as Russian does (a
 * space between thousands, a decimal comma), and browsers built with reduced ICU data
 * (Debian's Chromium among them) format "kk" as English «84,032»: Russian rules for both.
 */
export const numberLocale = () => "ru-RU";

const KK_MONTHS = ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
  "қыркүйек", "қазан", "қараша", "желтоқсан"];

/** «2026 жылғы 23 желтоқсан» (as Babel writes it on the server), with «, 14:05» for a time. */
function kazakhDate(date, withTime) {
  const day = `${date.getFullYear()} жылғы ${date.getDate()} ${KK_MONTHS[date.getMonth()]}`;
  if (!withTime) return day;
  const time = `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
  return `${day}, ${time}`;
}

/** Money per locale: «80 000 ₸» (whole tenge without decimals). */
export function formatMoney(value) {
  const number = Number(value);
  const digits = Number.isInteger(number) ? 0 : 2;
  const text = new Intl.NumberFormat(numberLocale(), { minimumFractionDigits: digits, maximumFractionDigits: 2 }).format(number);
  return `${text} ₸`;
}

/** A percentage given in percent («171.0» → «171,0 %»), decimals as given. */
export function formatPercent(value) {
  const text = String(value);
  const decimals = text.includes(".") ? text.split(".")[1].length : 0;
  const number = new Intl.NumberFormat(numberLocale(), { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
    .format(Number(value));
  return `${number} %`;
}

/** A whole number per locale («12 345»). */
export const formatNumber = (value) => new Intl.NumberFormat(numberLocale()).format(Number(value));

/** «23 декабря 2026 г.» / «2026 ж. 23 желтоқсан»; with the time for a timestamp. */
export function formatDate(iso) {
  if (!iso) return "—";
  const date = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  if (lang() === "kk") return kazakhDate(date, iso.length !== 10);
  const options = iso.length === 10
    ? { day: "numeric", month: "long", year: "numeric" }
    : { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), options).format(date);
}

/** A sentence ending: a full stop unless the text already ends with one («… 2026 г.»). */
export const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

/**
 * A resend countdown on the button itself, one line: «Отправить повторно через 0:45»;
 * at zero the button is enabled as «Отправить код повторно». Returns a stop function.
 */
export function countdown(button, seconds) {
  let left = Math.max(0, Math.ceil(seconds));
  const tick = () => {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = t("Отправить код повторно");
      clearInterval(timer);
      return;
    }
    button.disabled = true;
    const minutes = Math.floor(left / 60);
    const rest = String(left % 60).padStart(2, "0");
    button.textContent = t("Отправить повторно через {time}", { time: `${minutes}:${rest}` });
    left -= 1;
  };
  const timer = setInterval(tick, 1000);
  tick();
  return () => clearInterval(timer);
}

/** Disable a form's submit button while `work` runs. */
export async function busy(form, work) {
  const buttons = $$("button[type=submit]", form);
  for (const b of buttons) b.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    for (const b of buttons) b.disabled = false;
    form.removeAttribute("aria-busy");
  }
}
