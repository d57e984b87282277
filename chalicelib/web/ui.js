// Small DOM helpers: no innerHTML anywhere (the CSP requires Trusted Types).

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

/** Show one view, hide the others, move focus to its heading, announce it. */
export function show(id) {
  for (const view of $$(".view")) view.hidden = view.id !== `view-${id}`;
  const view = $(`#view-${id}`);
  const heading = view && $("h1", view);
  clearAlert();
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
    document.title = `${heading.textContent} — Hava`;
  }
  window.scrollTo(0, 0);
}

/** A polite announcement (progress, saved, sent). */
export function announce(message) {
  const status = $("#status");
  status.textContent = "";
  // A fresh text node so screen readers read a repeated message again.
  setTimeout(() => { status.textContent = message; }, 30);
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
    const id = `${input.id}-apierror`;
    const note = el("p", { class: "field-error", id, "data-generated": "1" }, message);
    const holder = input.closest(".field, .slider-field") || input.parentElement;
    holder.append(note);
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    input.setAttribute("aria-describedby", [...described, id].join(" "));
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

const money = new Intl.NumberFormat("ru-RU", { maximumFractionDigits: 2, minimumFractionDigits: 0 });
export const formatMoney = (value) => `${money.format(Number(value))} ₸`;
export function formatDate(iso) {
  if (!iso) return "—";
  const date = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  const options = iso.length === 10
    ? { day: "numeric", month: "long", year: "numeric" }
    : { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat("ru-RU", options).format(date);
}

/** A countdown on `button` ("ещё раз через N с"); enables it at zero. Returns a stop function. */
export function countdown(button, note, seconds) {
  let left = Math.max(0, Math.ceil(seconds));
  button.disabled = left > 0;
  const tick = () => {
    if (left <= 0) {
      button.disabled = false;
      note.textContent = "";
      clearInterval(timer);
      return;
    }
    note.textContent = `Новый код можно запросить через ${left} с`;
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
