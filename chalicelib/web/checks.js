// Checks and input masks of the questionnaire, run where the mistake is made (on blur),
// before the password step. The API checks everything again; these only save a round
// trip and a bounce back. Each check returns "" when the value is fine, else the message.

import { t } from "./i18n.js";

const DIGITS = /\D/g;

/** The IIN's birth date (ISO) from digits 1–6 and the century digit 7, or null. */
export function iinBirthDate(iin) {
  // DESIGN.md "IIN": YYMMDD, then 1/2 → 1800s, 3/4 → 1900s, 5/6 → 2000s.
  const century = { 1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000 }[iin[6]];
  if (!century) return null;
  const year = century + Number(iin.slice(0, 2));
  return realDate(year, Number(iin.slice(2, 4)), Number(iin.slice(4, 6)));
}

/** The check digit rule: weights 1..11, then 3..11,1,2 when the first sum gives 10. */
export function iinChecksumOk(iin) {
  const d = [...iin].map(Number);
  const sum = (weights) => weights.reduce((acc, w, i) => acc + w * d[i], 0) % 11;
  let control = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  if (control === 10) control = sum([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
  return control !== 10 && control === d[11];
}

/** Full years between an ISO date and today. */
export function ageOn(birthIso, today = new Date()) {
  const [y, m, d] = birthIso.split("-").map(Number);
  let age = today.getFullYear() - y;
  if (today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) age -= 1;
  return age;
}

export function iinProblem(value) {
  const iin = value.trim();
  if (!/^\d{12}$/.test(iin)) return t("ИИН состоит из 12 цифр.");
  const birth = iinBirthDate(iin);
  if (!birth || !iinChecksumOk(iin)) return t("Такого ИИН не бывает: проверьте цифры по удостоверению.");
  const age = ageOn(birth);
  if (age < 19 || age > 70) return t("Займ доступен заёмщикам от 19 до 70 лет.");
  return "";
}

function realDate(year, month, day) {
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** «ДД.ММ.ГГГГ» → ISO date, or null. */
export function parseDay(value) {
  const match = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(value.trim());
  return match ? realDate(Number(match[3]), Number(match[2]), Number(match[1])) : null;
}

/** ISO date → «ДД.ММ.ГГГГ». */
export const showDay = (iso) => (iso ? iso.split("-").reverse().join(".") : "");

const todayIso = () => {
  const now = new Date();
  return realDate(now.getFullYear(), now.getMonth() + 1, now.getDate());
};

export function issuedProblem(value) {
  const iso = parseDay(value);
  if (!iso) return t("Введите дату как ДД.ММ.ГГГГ, например 05.03.2024.");
  if (iso > todayIso()) return t("Дата выдачи не может быть в будущем.");
  return "";
}

export function expiresProblem(value, issuedValue) {
  const iso = parseDay(value);
  if (!iso) return t("Введите дату как ДД.ММ.ГГГГ, например 05.03.2035.");
  if (iso <= todayIso()) return t("Срок действия удостоверения истёк: нужно действующее удостоверение.");
  const issued = parseDay(issuedValue || "");
  if (issued && iso <= issued) return t("Дата окончания должна быть позже даты выдачи.");
  return "";
}

export function idNumberProblem(value) {
  return /^\d{9}$/.test(value.trim()) ? "" : t("Номер удостоверения — 9 цифр.");
}

/** The ten digits after +7 of a typed phone, however it was typed (+7…, 8…, 7…). */
export function phoneDigits(value) {
  let digits = value.replace(DIGITS, "");
  if (value.trim().startsWith("+")) digits = digits.slice(1);
  else if (digits[0] === "8") digits = digits.slice(1); // the domestic trunk prefix
  else if (digits.length === 11 && digits[0] === "7") digits = digits.slice(1);
  return digits.slice(0, 10);
}

/** «+7 701 234 56 78» as it grows. */
export function formatPhone(value) {
  const d = phoneDigits(value);
  if (!d) return "";
  const groups = [d.slice(0, 3), d.slice(3, 6), d.slice(6, 8), d.slice(8, 10)].filter(Boolean);
  return `+7 ${groups.join(" ")}`;
}

/** E.164 for the API («+77012345678»). */
export const phoneE164 = (value) => `+7${phoneDigits(value)}`;

export function phoneProblem(value) {
  const d = phoneDigits(value);
  if (d.length !== 10 || d[0] !== "7") return t("Нужен казахстанский мобильный номер: +7 7XX XXX XX XX.");
  return "";
}

export function emailProblem(value) {
  const text = value.trim();
  const at = text.lastIndexOf("@");
  if (at < 1 || at === text.length - 1 || /\s/.test(text)) {
    return t("Укажите адрес целиком, например name@example.kz.");
  }
  if (/[^\x21-\x7e]/.test(text)) return t("Адрес пишется латинскими буквами, например name@example.kz.");
  const domain = text.slice(at + 1);
  const labels = domain.split(".");
  if (labels.length < 2 || !/^[a-z]{2,}$/i.test(labels[labels.length - 1])) {
    const example = `${text.slice(0, at + 1)}${labels[0] || "gmail"}.com`;
    return t("В адресе не хватает окончания после точки, например {example}.", { example });
  }
  if (labels.some((label) => !label)) return t("В адресе лишняя или пропущенная точка.");
  return "";
}

/** «05032024» → «05.03.2024» as it is typed; a pasted ISO date is turned round. */
export function formatDay(value) {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (iso) return `${iso[3]}.${iso[2]}.${iso[1]}`;
  const d = value.replace(DIGITS, "").slice(0, 8);
  return [d.slice(0, 2), d.slice(2, 4), d.slice(4, 8)].filter(Boolean).join(".");
}

/** Digits only, at most `max`. */
export const onlyDigits = (value, max) => value.replace(DIGITS, "").slice(0, max);

/**
 * Reformat an input in place, keeping the caret after the same number of digits
 * (so editing in the middle of «+7 701 234 56 78» does not throw the caret to the end).
 */
export function mask(input, format) {
  const caret = input.selectionStart ?? input.value.length;
  const digitsBefore = input.value.slice(0, caret).replace(DIGITS, "").length;
  const atEnd = caret >= input.value.length;
  const next = format(input.value);
  if (next === input.value) return;
  input.value = next;
  if (atEnd || document.activeElement !== input) return;
  let seen = 0;
  let position = 0;
  while (position < next.length && seen < digitsBefore) {
    if (/\d/.test(next[position])) seen += 1;
    position += 1;
  }
  input.setSelectionRange(position, position);
}
