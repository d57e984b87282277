// The borrower's pages: calculator → questionnaire → password → SMS code → cabinet,
// sign-in, recovery, reports and the cabinet's requests. A client of /v1; it decides nothing.

import { client, uploadToBucket } from "./api.js";
import { t, lang, setLang, translateStatic } from "./i18n.js";
import {
  $, $$, el, show, announce, announceNext, alertError, clearErrors, showFieldErrors, setFieldError,
  formValues, formatMoney, formatPercent, formatDate, numberLocale, sentence, countdown, busy,
} from "./ui.js";
import * as check from "./checks.js";

const api = client({
  csrfCookie: "__Host-hava_csrf",
  onMaintenance: (error) => maintenance(error.message),
  // Only a session that was open can end (the first probe of /v1/me is a 401 for guests).
  onSignedOut: () => { if (state.user) signedOut(t("Сессия завершена. Войдите снова.")); },
});

const state = { product: null, offer: null, registrationId: null, recoveryId: null, user: null };
const stops = [];
const stopTimers = () => { while (stops.length) stops.pop()(); };

// --- navigation -------------------------------------------------------------
//
// Every view is its own history entry (`#view` in the address), so the phone's Back and
// Forward move between views and a reload reopens the same one. A view that cannot be
// shown (signed out, no offer yet, no pending registration) is replaced by the nearest
// one that can, in place, so Back never lands on a dead end.

const VIEWS_FOR_USERS = new Set(["cabinet", "phone", "deletion", "compromise", "sessions",
  "password-change", "email-change", "export"]);
const VIEWS_FOR_GUESTS = new Set(["login", "questionnaire", "password", "code"]);
const VIEWS = new Set([...$$(".view")].map((node) => node.id.replace(/^view-/, "")));
let currentView = null;

/** The view a request for `view` really opens (guards for sign-in and the registration steps). */
function allowed(view) {
  if (!VIEWS.has(view) || view === "maintenance" || view === "loading") return state.user ? "cabinet" : "calculator";
  if (VIEWS_FOR_USERS.has(view) && !state.user) return "login";
  if (VIEWS_FOR_GUESTS.has(view) && state.user) return "cabinet";
  if (view === "consent" && !consentVersion) return state.user ? "cabinet" : "login";
  if (view === "code" && !pendingRegistration()) return "password";
  if (view === "password" && !questionnaireComplete()) return "questionnaire";
  if (view === "questionnaire" && !state.offer) return "calculator";
  return view;
}

/** Open a view: "push" a new history entry, "replace" the current one, or follow a "pop". */
function go(requested, how = "push") {
  stopTimers();
  let view = requested;
  for (let i = 0; i < 5; i += 1) {
    const next = allowed(view);
    if (next === view) break;
    view = next;
  }
  if (view !== requested && how === "pop") how = "replace";
  if (view === "cabinet") return enterCabinet(how);
  if (view === "sessions") loadSessions();
  if (view === "phone") resetPhoneChange();
  if (view === "deletion") resetDeletion();
  if (view === "report") resetReport();
  if (view === "password-change") $("#password-change-form").reset();
  if (view === "email-change") resetEmailChange();
  if (view === "export") loadExport();
  if (view === "questionnaire") loadConsentText();
  if (view === "recovery") {
    $("#recovery-form").hidden = false;
    $("#recovery-confirm-form").hidden = true;
    $("#recovery-reason").hidden = true;
  }
  if (view === "code") { resumeCodeScreen(how); return undefined; }
  show(view);
  remember(view, how);
  return undefined;
}

function remember(view, how) {
  const same = history.state && history.state.view === view;
  if (how === "push" && !same && currentView !== null) history.pushState({ view }, "", `#${view}`);
  else if (how !== "pop" || !same) history.replaceState({ view }, "", `#${view}`);
  currentView = view;
}

window.addEventListener("popstate", (event) => {
  const view = (event.state && event.state.view) || location.hash.slice(1) || "calculator";
  go(view, "pop");
});

function setSignedIn(user) {
  state.user = user;
  for (const node of $$("[data-when]")) node.hidden = (node.dataset.when === "user") !== Boolean(user);
}

function signedOut(message) {
  setSignedIn(null);
  if (message) announceNext(message);
  go("login", currentView === "cabinet" ? "replace" : "push");
}

function maintenance(message) {
  stopTimers();
  for (const node of $$("[data-when]")) node.hidden = true;
  if (message) $("#maintenance-message").textContent = message;
  show("maintenance");
}

/**
 * Any failed call: field errors beside the fields, the rest in the page alert — never in
 * the status line, which only ever says what succeeded. `field` names the one input an
 * error without fields belongs to (a code form: the code's error beside the code).
 */
function failed(error, form, field = null) {
  if (error.status === 503 && error.code === "maintenance") return;
  if (error.status === 401 && error.code === "unauthenticated") return;
  if (error.code === "password_recovery_required") { recoveryRequired(error.message); return; }
  if (error.code === "consent_required") { showConsent(error.message); return; }
  const fields = Object.keys(error.fields).length || !field || error.status === 0
    ? error.fields : { [field]: error.message };
  const unplaced = form ? showFieldErrors(form, fields) : Object.values(fields);
  if (fields === error.fields) alertError([error.message, ...unplaced].join(" "));
}

// --- calculator -------------------------------------------------------------

let quoteSeq = 0;
let quoteTimer = 0;

/** The number typed in a calculator input («80 000» → 80000). */
const typed = (input) => Number(input.value.replace(/\D/g, ""));
/** An amount shown grouped in the page's locale («80 000»). */
const grouped = (value) => new Intl.NumberFormat(numberLocale()).format(value);

function pairInputs(numberId, min, max, step, value, format = String) {
  const number = $(`#${numberId}`);
  const range = $(`#${numberId}-range`);
  range.min = String(min);
  range.max = String(max);
  range.step = String(step);
  range.value = String(value);
  number.value = format(value);
  range.addEventListener("input", () => { number.value = format(Number(range.value)); requestQuote(); });
  number.addEventListener("input", () => {
    const n = typed(number);
    if (number.value !== "" && n >= min && n <= max) range.value = String(n);
    requestQuote();
  });
  number.addEventListener("change", () => {
    const clamped = Math.min(max, Math.max(min, Math.round(typed(number) || min)));
    number.value = format(clamped);
    range.value = String(clamped);
    requestQuote();
  });
}

function setupCalculator(product, offer) {
  const amountStep = product.max_amount - product.min_amount >= 10000 ? 1000 : 1;
  const middle = Math.round((product.min_amount + product.max_amount) / 2 / amountStep) * amountStep;
  pairInputs("calc-amount", product.min_amount, product.max_amount, amountStep,
    (offer && offer.amount) || middle, grouped);
  pairInputs("calc-term", product.min_term_days, product.max_term_days, 1,
    (offer && offer.term_days) || Math.round((product.min_term_days + product.max_term_days) / 2));
  describeLimits();
}

function describeLimits() {
  const product = state.product;
  $("#calc-amount-hint").textContent =
    t("от {min} до {max}", { min: formatMoney(product.min_amount), max: formatMoney(product.max_amount) });
  $("#calc-term-hint").textContent =
    t("от {min} до {max} дней", { min: product.min_term_days, max: product.max_term_days });
}

function requestQuote(delay = 150) {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(fetchQuote, delay);
}

async function fetchQuote() {
  const form = $("#calc-form");
  const amount = String(typed($("#calc-amount")));
  const term = String(typed($("#calc-term")));
  const seq = ++quoteSeq;
  try {
    const params = new URLSearchParams({ amount, term_days: term });
    const quote = await api.get(`/v1/calculator?${params}`);
    if (seq !== quoteSeq) return; // a newer position already asked
    clearErrors(form);
    state.offer = { amount: quote.amount, term_days: quote.term_days, quote };
    renderQuote();
    saveDraft();
  } catch (error) {
    if (seq !== quoteSeq) return;
    clearErrors(form);
    state.offer = null;
    failed(error, form);
  }
}

function renderQuote() {
  if (!state.offer) return;
  const { quote } = state.offer;
  $("#q-total").textContent = formatMoney(quote.total);
  $("#q-date").textContent = formatDate(quote.due_date);
  $("#q-interest").textContent = formatMoney(quote.interest);
  $("#q-gesv").textContent = formatPercent(quote.gesv_percent);
  $("#q-rate").textContent = t("Ставка {rate} в день. ГЭСВ — годовая эффективная ставка вознаграждения.",
    { rate: formatPercent(quote.daily_rate_percent) });
  $("#q-offer").textContent = t("{amount} на {days} дн., вернуть {total}", {
    amount: formatMoney(state.offer.amount), days: state.offer.term_days, total: formatMoney(quote.total),
  });
}

// --- registration -----------------------------------------------------------
//
// The draft (offer and questionnaire, never the password) lives in sessionStorage, so a
// reload or an accidental Back keeps what was typed; the pending registration (its id,
// the masked number, when a new code may be asked) too, so a reload on the code screen
// reopens it without sending another SMS. Both are wiped once the cabinet is created.

const QUESTIONNAIRE = ["surname", "name", "patronymic", "iin", "id_number", "id_issued_by",
  "id_issued_on", "id_expires_on", "phone", "email", "consent"];
const DRAFT = "hava.draft";
const PENDING = "hava.registration";

function stored(key) {
  try { return JSON.parse(sessionStorage.getItem(key) || "null"); } catch { return null; }
}

function store(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch { /* storage disabled: the draft lives as long as the page */ }
}

function saveDraft() {
  const values = formValues($("#questionnaire-form"));
  const fields = Object.fromEntries(QUESTIONNAIRE.filter((name) => name in values).map((name) => [name, values[name]]));
  const offer = state.offer ? { amount: state.offer.amount, term_days: state.offer.term_days } : null;
  store(DRAFT, { offer, fields });
}

function restoreDraft() {
  const draft = stored(DRAFT);
  if (!draft) return null;
  const form = $("#questionnaire-form");
  for (const [name, value] of Object.entries(draft.fields || {})) {
    const input = form.elements.namedItem(name);
    if (!input) continue;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = String(value);
  }
  showBirthDate();
  return draft.offer;
}

function pendingRegistration() {
  const pending = stored(PENDING);
  if (!pending || Date.now() > pending.expires_at) return null;
  return pending;
}

let consentLoaded = false;
async function loadConsentText() {
  if (consentLoaded === lang()) return;
  try {
    const consent = await api.get("/v1/consent");
    $("#consent-text").textContent = consent.text;
    consentLoaded = lang();
  } catch {
    $("#consent-text").textContent = t("Текст согласия сейчас недоступен.");
  }
}

function requiredMissing(form) {
  const fields = {};
  for (const input of $$("[required]", form)) {
    const empty = input.type === "checkbox" ? !input.checked : !input.value.trim();
    if (empty) fields[input.name] = input.type === "checkbox" ? t("Нужно ваше согласие.") : t("Заполните поле.");
  }
  return fields;
}

/** The questionnaire's own checks, by field name ("" = fine). */
const FIELD_CHECKS = {
  iin: (v) => check.iinProblem(v),
  id_number: (v) => check.idNumberProblem(v),
  id_issued_on: (v) => check.issuedProblem(v),
  id_expires_on: (v, form) => check.expiresProblem(v, form.elements.id_issued_on.value),
  phone: (v) => check.phoneProblem(v),
  email: (v) => check.emailProblem(v),
};

/** Check one field as it is left (only once something was typed). */
function checkField(input) {
  const rule = FIELD_CHECKS[input.name];
  if (!rule) return "";
  const problem = input.value.trim() ? rule(input.value, input.form) : "";
  setFieldError(input, problem);
  if (input.name === "iin") showBirthDate();
  return problem;
}

/** The birth date read from the IIN, shown back to the borrower under the field. */
function showBirthDate() {
  const iin = $("#f-iin").value.trim();
  const birth = /^\d{12}$/.test(iin) && check.iinChecksumOk(iin) ? check.iinBirthDate(iin) : null;
  $("#f-iin-birth").textContent = birth ? t("Дата рождения: {date}", { date: formatDate(birth) }) : "";
}

/** All problems of the questionnaire: empty required fields first, then the checks. */
function questionnaireProblems(form) {
  const problems = requiredMissing(form);
  for (const [name, rule] of Object.entries(FIELD_CHECKS)) {
    const input = form.elements.namedItem(name);
    if (!problems[name] && input.value.trim()) {
      const problem = rule(input.value, form);
      if (problem) problems[name] = problem;
    }
  }
  return problems;
}

function questionnaireComplete() {
  return Boolean(state.offer) && !Object.keys(questionnaireProblems($("#questionnaire-form"))).length;
}

function registrationBody() {
  const body = { ...formValues($("#questionnaire-form")), ...formValues($("#password-form")) };
  if (!body.patronymic || !body.patronymic.trim()) delete body.patronymic;
  body.iin = body.iin.trim();
  body.phone = check.phoneE164(body.phone);
  body.email = body.email.trim();
  body.id_issued_on = check.parseDay(body.id_issued_on) || body.id_issued_on;
  body.id_expires_on = check.parseDay(body.id_expires_on) || body.id_expires_on;
  body.amount = state.offer.amount;
  body.term_days = state.offer.term_days;
  return body;
}

function submitQuestionnaire(event) {
  event.preventDefault();
  const form = event.target;
  clearErrors(form);
  const problems = questionnaireProblems(form);
  if (Object.keys(problems).length) {
    showFieldErrors(form, problems);
    alertError(t("Проверьте поля анкеты: ошибки отмечены рядом с ними."));
    return;
  }
  saveDraft();
  go("password");
}

async function submitRegistration(event) {
  event.preventDefault();
  const form = $("#password-form");
  clearErrors(form);
  const missing = requiredMissing(form);
  if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
  await busy(form, async () => {
    try {
      const started = await api.post("/v1/registrations", registrationBody());
      $("#password-form").reset(); // the password is never kept once sent
      startCodeScreen(started);
    } catch (error) {
      const fields = error.fields || {};
      const earlier = Object.keys(fields).filter((name) => QUESTIONNAIRE.includes(name));
      if (earlier.length) {
        go("questionnaire");
        const questionnaire = $("#questionnaire-form");
        clearErrors(questionnaire);
        const inQuestionnaire = Object.fromEntries(earlier.map((name) => [name, fields[name]]));
        showFieldErrors(questionnaire, inQuestionnaire);
        alertError(error.message);
        return;
      }
      if (fields.amount || fields.term_days || error.code === "offer_not_allowed") {
        go("calculator");
        alertError([error.message, ...Object.values(fields)].join(" "));
        return;
      }
      failed(error, form);
    }
  });
}

/** A new code was sent: remember the registration (not the code) and open the code screen. */
function startCodeScreen(started) {
  const now = Date.now();
  store(PENDING, {
    id: started.registration_id,
    message: started.message,
    resend_at: now + started.resend_after * 1000,
    expires_at: now + started.code_expires_in * 1000,
  });
  $("#f-code").value = "";
  go("code", currentView === "code" ? "replace" : "push");
}

/** The code screen of the pending registration (after sending, or reopened by a reload). */
function resumeCodeScreen(how) {
  const pending = pendingRegistration();
  const message = $("#code-message");
  // The masked number is one unbreakable piece: «+7 701 ••• •• 67» never wraps.
  const parts = pending.message.split(/(\+7[\d\s•]*\d)/);
  message.replaceChildren(...parts.map((part, i) => (i % 2 ? el("span", { class: "nowrap" }, part) : part)));
  stops.push(countdown($("#code-resend"), (pending.resend_at - Date.now()) / 1000));
  show("code", $("#f-code"));
  remember("code", how);
}

async function resendRegistrationCode() {
  const form = $("#code-form");
  clearErrors(form);
  try {
    const pending = pendingRegistration();
    const started = await api.post(`/v1/registrations/${encodeURIComponent(pending.id)}/resend`);
    startCodeScreen(started);
    announce(t("Новый код отправлен."));
  } catch (error) {
    failed(error, form, "code");
  }
}

async function confirmRegistration(event) {
  event.preventDefault();
  const form = $("#code-form");
  clearErrors(form);
  const code = $("#f-code").value.trim();
  if (!/^\d{6}$/.test(code)) { setFieldError($("#f-code"), t("Введите 6 цифр из SMS.")); $("#f-code").focus(); return; }
  await busy(form, async () => {
    try {
      const pending = pendingRegistration();
      await api.post(`/v1/registrations/${encodeURIComponent(pending.id)}/confirm`, { code });
      for (const f of ["#questionnaire-form", "#password-form", "#code-form"]) $(f).reset();
      store(DRAFT, null);
      store(PENDING, null);
      $("#f-iin-birth").textContent = "";
      announceNext(t("Кабинет создан, заявка на займ отправлена."));
      await enterCabinet("replace");
    } catch (error) {
      failed(error, form, "code");
      $("#f-code").focus();
    }
  });
}

// --- sign-in, recovery, reports ---------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const form = $("#login-form");
  const message = $("#login-error");
  message.textContent = "";
  clearErrors(form);
  await busy(form, async () => {
    try {
      await api.post("/v1/sessions", formValues(form));
      form.reset();
      await enterCabinet("replace");
      sendLanguage();
    } catch (error) {
      if (error.code === "password_recovery_required") {
        const { login } = formValues(form);
        form.reset();
        recoveryRequired(error.message, login);
        return;
      }
      if (error.code === "invalid_credentials" || error.code === "rate_limited") {
        message.textContent = error.message; // exactly what the API says
        $("#l-password").focus();
        return;
      }
      failed(error, form);
    }
  });
}

/**
 * The old password no longer opens the account (compromise report, staff lock): straight
 * to recovery by SMS code, the login already filled in, with the API's explanation.
 */
function recoveryRequired(message, login) {
  if (state.user) setSignedIn(null);
  go("recovery", currentView === "cabinet" ? "replace" : "push");
  if (login) $("#r-login").value = login;
  const reason = $("#recovery-reason");
  reason.textContent = message;
  reason.hidden = false;
  $("#recovery-form button[type=submit]").focus();
}

async function signOut() {
  try { await api.del("/v1/sessions/current"); } catch { /* the cookie is cleared either way */ }
  signedOut(t("Вы вышли из кабинета."));
}

function startRecoveryScreen(started) {
  $("#recovery-form").hidden = true;
  const form = $("#recovery-confirm-form");
  form.hidden = false;
  $("#recovery-message").textContent = started.message;
  stopTimers();
  stops.push(countdown($("#recovery-resend"), started.resend_after));
  $("#r-code").focus();
}

async function startRecovery(event) {
  event.preventDefault();
  const form = $("#recovery-form");
  clearErrors(form);
  await busy(form, async () => {
    try {
      const started = await api.post("/v1/password-recovery", formValues(form));
      state.recoveryId = started.recovery_id;
      startRecoveryScreen(started);
    } catch (error) {
      failed(error, form);
    }
  });
}

async function resendRecovery() {
  try {
    startRecoveryScreen(await api.post(`/v1/password-recovery/${encodeURIComponent(state.recoveryId)}/resend`));
  } catch (error) {
    failed(error, $("#recovery-confirm-form"), "code");
  }
}

async function confirmRecovery(event) {
  event.preventDefault();
  const form = $("#recovery-confirm-form");
  clearErrors(form);
  await busy(form, async () => {
    try {
      const done = await api.post(
        `/v1/password-recovery/${encodeURIComponent(state.recoveryId)}/confirm`, formValues(form),
      );
      form.reset();
      $("#recovery-form").reset();
      announceNext(done.message);
      go("login");
    } catch (error) {
      failed(error, form, "code");
    }
  });
}

async function reportAnonymously(event) {
  event.preventDefault();
  const form = $("#report-form");
  clearErrors(form);
  await busy(form, async () => {
    try {
      const answer = await api.post("/v1/compromise-reports", formValues(form));
      form.reset();
      form.hidden = true;
      $("#report-done-message").textContent = answer.message;
      $("#report-done").hidden = false;
      $("#report-again").focus();
    } catch (error) {
      failed(error, form);
    }
  });
}

function resetReport() {
  $("#report-form").hidden = false;
  $("#report-done").hidden = true;
}

// --- cabinet ----------------------------------------------------------------

const PROFILE_FIELDS = [
  ["surname", "Фамилия"], ["name", "Имя"], ["patronymic", "Отчество"], ["iin", "ИИН"],
  ["phone", "Телефон"], ["email", "E-mail"], ["status", "Статус"],
];

/** The cabinet: the loan first, then appeals, then the profile and the actions. */
async function enterCabinet(how = "push") {
  stopTimers();
  let profile;
  try {
    profile = await api.get("/v1/me");
  } catch (error) {
    if (error.status === 401) { signedOut(); return; }
    failed(error);
    return;
  }
  setSignedIn(profile);
  adoptAccountLanguage(profile);
  try {
    const [loans, requests] = await Promise.all([api.get("/v1/me/loans"), api.get("/v1/requests")]);
    renderProfile(profile);
    renderLoans(loans.items);
    renderRequests(requests.items);
    show("cabinet");
    remember("cabinet", how);
  } catch (error) {
    failed(error);
  }
}

function renderProfile(profile) {
  $("#profile").replaceChildren(...PROFILE_FIELDS.filter(([key]) => profile[key]).map(([key, title]) =>
    el("div", {}, el("dt", {}, t(title)), el("dd", {}, profile[key] === "active" ? t("Активна") : profile[key]))));
}

const OPEN_LOAN = new Set(["submitted", "approved", "signed", "issued", "overdue"]);
const NEXT_STEP = {
  submitted: "Что дальше: заявку рассмотрит кредитный отдел, решение придёт в SMS. После одобрения здесь появятся условия договора и подписание по коду из SMS.",
  approved: "Что дальше: укажите счёт для перечисления и подпишите договор кодом из SMS.",
  signed: "Что дальше: мы перечислим деньги на ваш счёт, обычно в течение рабочего дня. Вы получите SMS.",
};

function renderLoans(items) {
  const list = $("#loans");
  const open = items.filter((loan) => OPEN_LOAN.has(loan.status));
  const closed = items.filter((loan) => !OPEN_LOAN.has(loan.status));
  const rows = [...open, ...closed].map(loanItem);
  if (!open.length) rows.unshift(el("li", {}, applyForm()));
  if (!rows.length) rows.push(el("li", { class: "empty" }, t("Займов пока нет.")));
  list.replaceChildren(...rows);
}

function loanItem(loan) {
  const base = `/v1/me/loans/${encodeURIComponent(loan.loan_id)}`;
  const parts = [
    el("p", { class: "item-title" },
      t("{amount} на {days} дн.", { amount: formatMoney(loan.amount), days: loan.term_days }),
      el("span", { class: `badge badge-${loan.status}` }, loan.status_text)),
  ];
  if (loan.owed_today) {
    // What a borrower opens the cabinet for: how much today, until when, how to pay.
    parts.push(el("dl", { class: "loan-figures" },
      el("div", { class: "owed" }, el("dt", {}, t("К оплате сегодня")), el("dd", {}, formatMoney(loan.owed_today))),
      figure(t("Дата погашения"), formatDate(loan.due_date)),
      loan.days_overdue > 0
        ? figure(t("Просрочка"), t("{days} дн., неустойка {penalty}", { days: loan.days_overdue, penalty: formatMoney(loan.penalty_owed) }))
        : figure(t("Осталось дней"), String(loan.days_left)),
      figure(t("Досрочное погашение сегодня"), formatMoney(loan.early_repayment_today)),
      figure(t("Оплачено"), formatMoney(loan.paid_total))));
  }
  if (loan.repayment_details) {
    const d = loan.repayment_details;
    parts.push(el("details", { class: "pay", open: loan.status === "overdue" },
      el("summary", {}, t("Оплатить")),
      el("p", { class: "item-meta" },
        t("Реквизиты для оплаты: {recipient}, БИН {bin}, IBAN {iban}", { recipient: d.recipient, bin: d.bin, iban: d.iban }),
        d.bank ? `, ${d.bank}. ` : ". ",
        el("strong", {}, t("Назначение платежа: {reference}", { reference: d.payment_reference })))));
  }
  if (loan.status === "issued" || loan.status === "overdue") parts.push(extensionForm(base));
  if (loan.signed_at) {
    parts.push(el("button", { type: "button", class: "link", onclick: () => openAgreement(base) },
      t("Скачать договор (PDF)")));
  }
  if (NEXT_STEP[loan.status]) parts.push(el("p", { class: "note" }, t(NEXT_STEP[loan.status])));
  parts.push(el("p", { class: "item-meta" },
    t("К возврату по договору {total}", { total: formatMoney(loan.total_to_repay) }),
    loan.due_date ? ` ${t("до {date}", { date: formatDate(loan.due_date) })}` : "",
    ` · ${t("ГЭСВ {gesv}", { gesv: formatPercent(loan.gesv_percent) })} · ${t("подана {date}", { date: formatDate(loan.created_at) })}`));
  if (loan.decision_reason) parts.push(el("p", { class: "item-reason" }, t("Причина отказа: {reason}", { reason: loan.decision_reason })));
  if (loan.payments && loan.payments.length) {
    parts.push(el("ul", { class: "payments", "aria-label": t("Платежи") }, ...loan.payments.map((p) =>
      el("li", {}, `${formatDate(p.paid_on)}: ${formatMoney(p.amount)}`,
        p.kind === "extension" ? ` ${t("(продление)")}` : ""))));
  }
  if (loan.status === "approved" && !loan.payout_account_set) parts.push(payoutForm(base));
  if (loan.status === "approved" && loan.payout_account_set) parts.push(signBlock(base, "signature", null));
  return el("li", { class: OPEN_LOAN.has(loan.status) ? "loan-open" : "loan-closed" }, ...parts);
}

function figure(title, value) {
  return el("div", {}, el("dt", {}, title), el("dd", {}, value));
}

function field(id, label, attrs) {
  return el("p", { class: "field" }, el("label", { for: id }, label), el("input", { id, ...attrs }));
}

function applyForm() {
  const form = el("form", { class: "inline-form", novalidate: true, "aria-labelledby": "apply-title" },
    el("h3", { id: "apply-title" }, t("Новая заявка на займ")),
    field("apply-amount", t("Сумма, ₸"), { name: "amount", type: "number", inputmode: "numeric", required: true, value: "50000" }),
    field("apply-term", t("Срок, дней"), { name: "term_days", type: "number", inputmode: "numeric", required: true, value: "15" }),
    el("button", { type: "submit" }, t("Подать заявку")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    await busy(form, async () => {
      try {
        await api.post("/v1/me/loans", { amount: Number(values.amount), term_days: Number(values.term_days) });
        announceNext(t("Заявка подана."));
        await enterCabinet();
      } catch (error) { failed(error, form); }
    });
  });
  return form;
}

function payoutForm(base) {
  const form = el("form", { class: "inline-form", novalidate: true },
    el("h3", {}, t("Счёт для перечисления займа")),
    field(`iban-${base}`, t("IBAN вашего счёта (KZ…)"), { name: "iban", autocomplete: "off", required: true }),
    el("p", { class: "field" }, el("label", {},
      el("input", { type: "checkbox", name: "own_account", required: true }),
      t(" Счёт открыт на моё имя"))),
    el("button", { type: "submit" }, t("Сохранить счёт")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    await busy(form, async () => {
      try {
        await api.put(`${base}/payout-account`, { iban: values.iban, own_account: form.elements.own_account.checked });
        announceNext(t("Счёт сохранён."));
        await enterCabinet();
      } catch (error) { failed(error, form); }
    });
  });
  return form;
}

function signBlock(base, step, body) {
  const box = el("div", { class: "inline-form" });
  const start = el("button", { type: "button" }, step === "signature" ? t("Подписать договор по SMS") : t("Получить код"));
  start.addEventListener("click", async () => {
    try {
      const sent = await api.post(`${base}/${step}`, body || {});
      box.replaceChildren(...describeOffer(sent), codeForm(base, step, sent));
    } catch (error) { failed(error); }
  });
  box.append(start);
  return box;
}

function describeOffer(sent) {
  if (sent.offer) {
    const o = sent.offer;
    return [el("dl", { class: "loan-figures", "aria-label": t("Условия договора") },
      figure(t("Заёмщик"), o.borrower_name),
      figure(t("Кредитор"), t("{name}, БИН {bin}", { name: o.lender.name, bin: o.lender.bin })),
      figure(t("Сумма"), formatMoney(o.amount)), figure(t("Срок"), t("{days} дн.", { days: o.term_days })),
      figure(t("Ставка в день"), formatPercent(o.daily_rate_percent)), figure(t("ГЭСВ"), formatPercent(o.gesv_percent)),
      figure(t("К возврату"), formatMoney(o.total_to_repay)),
      figure(t("Дата погашения при выдаче сегодня"), formatDate(o.due_date_if_issued_today)),
      figure(t("Неустойка"), o.penalty_rules))];
  }
  const x = sent.extension;
  return [el("p", {}, t("Продление на {days} дн.: оплатить сейчас {pay}, новая дата погашения {date}, ставка {rate} в день.", {
    days: x.days, pay: formatMoney(x.pay_now), date: formatDate(x.new_due_date), rate: formatPercent(x.daily_rate_percent),
  }))];
}

function codeForm(base, step, sent) {
  const form = el("form", { class: "inline-form", novalidate: true },
    el("p", {}, t("Код отправлен на {phone}.", { phone: sent.phone })),
    field(`code-${step}-${base}`, t("Код из SMS"), { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    el("button", { type: "submit" }, t("Подписать")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(form, async () => {
      try {
        await api.post(`${base}/${step}/confirm`, { challenge_id: sent.challenge_id, code: formValues(form).code });
        announceNext(step === "signature" ? t("Договор подписан.") : t("Продление подписано. Оплатите вознаграждение по реквизитам."));
        await enterCabinet();
      } catch (error) { failed(error, form, "code"); }
    });
  });
  return form;
}

function extensionForm(base) {
  const form = el("form", { class: "inline-form", novalidate: true },
    el("h3", {}, t("Продлить займ")),
    field(`ext-${base}`, t("На сколько дней"), { name: "days", type: "number", inputmode: "numeric", required: true, value: "10" }),
    el("button", { type: "submit" }, t("Рассчитать и получить код")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(form, async () => {
      try {
        const sent = await api.post(`${base}/extension`, { days: Number(formValues(form).days) });
        form.replaceChildren(...describeOffer(sent), codeForm(base, "extension", sent));
      } catch (error) { failed(error, form); }
    });
  });
  return form;
}

async function openAgreement(base) {
  try {
    const link = await api.get(`${base}/agreement`);
    window.location.assign(link.url);
  } catch (error) { failed(error); }
}

function renderRequests(items) {
  const list = $("#requests");
  if (!items.length) { list.replaceChildren(el("li", { class: "empty" }, t("Обращений нет."))); return; }
  list.replaceChildren(...items.map((request) => el("li", {},
    el("p", { class: "item-title" }, request.type_text,
      el("span", { class: `badge badge-${request.status}` }, request.status_text)),
    el("p", { class: "item-meta" }, t("Подано {date}", { date: formatDate(request.created_at) }),
      OPEN_REQUEST.has(request.status) && request.due_on
        ? ` · ${t("срок рассмотрения до {date}", { date: formatDate(request.due_on) })}` : ""),
    request.rejection_reason ? el("p", { class: "item-reason" }, t("Причина отказа: {reason}", { reason: request.rejection_reason })) : null,
    request.type === "phone_change" && request.status === "awaiting_documents"
      ? el("button", { type: "button", class: "link", onclick: () => resumePhoneChange(request) }, t("Продолжить"))
      : null,
    request.type === "phone_change" && (request.status === "rejected" || request.status === "cancelled")
      ? el("button", { type: "button", class: "link", onclick: () => go("phone") }, t("Подать заново"))
      : null)));
}

let consentVersion = null;
async function showConsent(reason) {
  try {
    const consent = await api.get("/v1/consent");
    consentVersion = consent.version;
    $("#consent-reason").textContent = reason;
    $("#consent-new-text").textContent = consent.text;
    go("consent");
  } catch (error) {
    alertError(error.message);
  }
}

async function acceptConsent() {
  try {
    await api.post("/v1/me/consent", { version: consentVersion });
    await enterCabinet();
  } catch (error) {
    failed(error);
  }
}

// --- phone change -----------------------------------------------------------

const phone = { requestId: null, uploads: {}, documents: [], poll: 0 };
const CARD_TIPS = "Положите удостоверение на тёмный стол: все четыре угла в кадре, без бликов, текст читается.";
const SELFIE_TIPS = "Держите удостоверение рядом с лицом: лицо и удостоверение видны целиком, текст читается.";
const OPEN_REQUEST = new Set(["awaiting_documents", "in_review", "submitted"]);
const DOCUMENT_STATUS = {
  awaiting_upload: "Не загружено",
  checking: "Проверяется…",
  accepted: "Фото подходит — его проверит сотрудник",
  rejected: "Не принято",
};

function resetPhoneChange() {
  clearInterval(phone.poll);
  $("#phone-form").reset();
  $("#phone-form").hidden = false;
  $("#phone-steps").hidden = true;
  $("#phone-code-form").hidden = false;
  $("#uploads").replaceChildren();
  $("#phone-status").textContent = "";
}

async function startPhoneChange(event) {
  event.preventDefault();
  const form = $("#phone-form");
  clearErrors(form);
  await busy(form, async () => {
    try {
      const started = await api.post("/v1/phone-change-requests", formValues(form));
      form.reset();
      openPhoneSteps(started, started.uploads);
      stops.push(countdown($("#phone-resend"), 60));
      announce(t("Мы отправили код на новый номер."));
      $("#ph-code").focus();
    } catch (error) {
      failed(error, form);
    }
  });
}

async function resumePhoneChange(request) {
  go("phone");
  try {
    const forms = await api.post(`/v1/requests/${encodeURIComponent(request.request_id)}/uploads`);
    openPhoneSteps(request, forms.uploads);
  } catch (error) {
    failed(error);
  }
}

function openPhoneSteps(request, uploads) {
  phone.requestId = request.request_id;
  phone.uploads = uploads || {};
  $("#phone-form").hidden = true;
  $("#phone-steps").hidden = false;
  $("#phone-code-form").hidden = Boolean(request.phone_confirmed);
  renderUploads(request);
  clearInterval(phone.poll);
  phone.poll = setInterval(pollPhoneChange, 1500);
  stops.push(() => clearInterval(phone.poll));
}

function renderUploads(request) {
  const list = $("#uploads");
  for (const doc of request.documents || []) {
    let item = $(`#upload-${doc.document}`);
    if (!item) {
      const inputId = `file-${doc.document}`;
      const form = phone.uploads[doc.document];
      // A card per photo, as a bank app does it: what to shoot, how, the picture shown back.
      const selfie = doc.document === "selfie";
      item = el("li", { id: `upload-${doc.document}`, class: "upload upload-card" },
        el("div", { class: `frame frame-${selfie ? "selfie" : "card"}`, id: `frame-${doc.document}`, "aria-hidden": "true" }),
        el("p", { class: "upload-title" }, doc.title),
        el("p", { class: "hint", id: `tips-${doc.document}` }, t(selfie ? SELFIE_TIPS : CARD_TIPS)),
        el("input", {
          id: inputId, type: "file", name: doc.document, class: "visually-hidden",
          // The camera straight away on a phone: the back one for the card, the front one for the selfie.
          capture: selfie ? "user" : "environment",
          accept: (form && form.content_types ? form.content_types : ["image/jpeg", "image/png"]).join(","),
          "aria-describedby": `tips-${doc.document} verdict-${doc.document}`,
          onchange: (event) => uploadDocument(doc.document, event.target),
        }),
        el("label", { for: inputId, class: "shoot", id: `shoot-${doc.document}` },
          t("Сфотографировать: {title}", { title: doc.title })),
        el("progress", { id: `progress-${doc.document}`, max: 100, value: 0, "aria-label": t("Загрузка: {title}", { title: doc.title }) }),
        el("p", { id: `verdict-${doc.document}`, class: "verdict", "aria-live": "polite" }));
      list.append(item);
    }
    const verdict = $(`#verdict-${doc.document}`);
    const text = t(DOCUMENT_STATUS[doc.status]) + (doc.reason ? `: ${doc.reason}` : "");
    if (verdict.dataset.status !== doc.status || verdict.dataset.reason !== (doc.reason || "")) {
      if (!(doc.status === "awaiting_upload" && verdict.dataset.uploading)) {
        verdict.textContent = text;
        verdict.dataset.status = doc.status;
        verdict.dataset.reason = doc.reason || "";
        verdict.className = `verdict verdict-${doc.status}`;
      }
    }
    const locked = doc.status === "accepted" || doc.status === "checking";
    $(`#file-${doc.document}`).disabled = locked;
    $(`#shoot-${doc.document}`).hidden = locked;
  }
  $("#phone-status").textContent = request.status === "awaiting_documents"
    ? t("Статус: {status}", { status: request.status_text })
    : sentence(t("Статус: {status}. Срок рассмотрения — до {date}", { status: request.status_text, date: formatDate(request.due_on) }));
}

/** The chosen photo shown back in its card (a blob: URL, never sent anywhere). */
function showPreview(doc, file) {
  const frame = $(`#frame-${doc}`);
  const old = frame.querySelector("img");
  if (old) URL.revokeObjectURL(old.src);
  frame.replaceChildren(el("img", { src: URL.createObjectURL(file), alt: "" }));
  frame.classList.add("has-photo");
  $(`#shoot-${doc}`).textContent = t("Переснять");
}

async function uploadDocument(doc, input) {
  const file = input.files && input.files[0];
  if (!file) return;
  const verdict = $(`#verdict-${doc}`);
  const progress = $(`#progress-${doc}`);
  const limit = phone.uploads[doc] && phone.uploads[doc].max_bytes;
  if (limit && file.size > limit) {
    verdict.textContent = t("Файл больше {mb} МБ.", { mb: Math.round(limit / 1048576) });
    return;
  }
  const types = (phone.uploads[doc] && phone.uploads[doc].content_types) || ["image/jpeg", "image/png"];
  if (!types.includes(file.type)) {
    verdict.textContent = t("Загрузите фото в формате JPEG или PNG.");
    return;
  }
  showPreview(doc, file);
  verdict.dataset.uploading = "1";
  verdict.textContent = t("Загружается…");
  input.disabled = true;
  try {
    let form = phone.uploads[doc];
    try {
      await uploadToBucket(form, file, (share) => { progress.value = Math.round(share * 100); });
    } catch {
      // The forms last 15 minutes: ask for fresh ones once and try again.
      const fresh = await api.post(`/v1/requests/${encodeURIComponent(phone.requestId)}/uploads`);
      phone.uploads = { ...phone.uploads, ...fresh.uploads };
      form = phone.uploads[doc];
      await uploadToBucket(form, file, (share) => { progress.value = Math.round(share * 100); });
    }
    progress.value = 100;
    verdict.textContent = t("Загружено, проверяется…");
    verdict.dataset.status = "";
    announce(t("Файл загружен, проверяем его."));
    pollPhoneChange();
  } catch {
    verdict.textContent = t("Не удалось загрузить файл. Попробуйте ещё раз.");
    input.disabled = false;
  } finally {
    delete verdict.dataset.uploading;
  }
}

async function pollPhoneChange() {
  if (!phone.requestId) return;
  try {
    const request = await api.get(`/v1/requests/${encodeURIComponent(phone.requestId)}`);
    renderUploads(request);
    const rejected = (request.documents || []).filter((d) => d.status === "rejected");
    if (rejected.length) {
      const fresh = await api.post(`/v1/requests/${encodeURIComponent(phone.requestId)}/uploads`);
      phone.uploads = { ...phone.uploads, ...fresh.uploads };
      for (const d of rejected) $(`#file-${d.document}`).disabled = false;
    }
    if (request.status !== "awaiting_documents") {
      clearInterval(phone.poll);
      announce(t("Заявка на смену номера: {status}.", { status: request.status_text }));
    }
  } catch (error) {
    clearInterval(phone.poll);
    failed(error);
  }
}

async function confirmNewPhone(event) {
  event.preventDefault();
  const form = $("#phone-code-form");
  clearErrors(form);
  await busy(form, async () => {
    try {
      const request = await api.post(
        `/v1/requests/${encodeURIComponent(phone.requestId)}/confirm-phone`, formValues(form),
      );
      form.reset();
      form.hidden = true;
      announce(t("Новый номер подтверждён."));
      renderUploads(request);
    } catch (error) {
      failed(error, form, "code");
    }
  });
}

async function resendPhoneCode() {
  try {
    const answer = await api.post(`/v1/requests/${encodeURIComponent(phone.requestId)}/resend-code`);
    stops.push(countdown($("#phone-resend"), answer.resend_after));
    announce(t("Код отправлен ещё раз."));
  } catch (error) {
    failed(error, $("#phone-code-form"), "code");
  }
}

// --- password and e-mail ----------------------------------------------------

async function changePassword(event) {
  event.preventDefault();
  const form = $("#password-change-form");
  clearErrors(form);
  const missing = requiredMissing(form);
  if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
  await busy(form, async () => {
    try {
      await api.post("/v1/me/password", formValues(form));
      form.reset();
      announceNext(t("Пароль изменён. Другие сеансы завершены."));
      await enterCabinet();
    } catch (error) {
      failed(error, form);
    }
  });
}

function resetEmailChange() {
  $("#email-change-form").reset();
  $("#email-change-form").hidden = false;
  $("#email-confirm-form").hidden = true;
}

async function startEmailChange(event) {
  event.preventDefault();
  const form = $("#email-change-form");
  clearErrors(form);
  const problems = requiredMissing(form);
  const email = $("#emc-new_email").value;
  if (!problems.new_email && check.emailProblem(email)) problems.new_email = check.emailProblem(email);
  if (Object.keys(problems).length) { showFieldErrors(form, problems); return; }
  await busy(form, async () => {
    try {
      const started = await api.post("/v1/me/email", { ...formValues(form), new_email: email.trim() });
      form.reset();
      form.hidden = true;
      $("#email-confirm-message").textContent = started.message;
      $("#email-confirm-form").hidden = false;
      $("#emc-code").focus();
    } catch (error) {
      failed(error, form);
    }
  });
}

async function confirmEmailChange(event) {
  event.preventDefault();
  const form = $("#email-confirm-form");
  clearErrors(form);
  await busy(form, async () => {
    try {
      const done = await api.post("/v1/me/email/confirm", formValues(form));
      form.reset();
      announceNext(done.message);
      await enterCabinet();
    } catch (error) {
      failed(error, form, "code");
    }
  });
}

// --- deletion, compromise, sessions, export ---------------------------------

function resetDeletion() {
  $("#deletion-result").hidden = true;
  $("#deletion-back").hidden = true;
  $("#deletion-form").hidden = false;
}

async function requestDeletion(event) {
  event.preventDefault();
  const form = $("#deletion-form");
  const result = $("#deletion-result");
  result.hidden = true;
  clearErrors(form);
  await busy(form, async () => {
    try {
      const request = await api.post("/v1/deletion-requests", formValues(form));
      form.reset();
      form.hidden = true; // filed: nothing left to cancel here
      $("#deletion-back").hidden = false;
      result.hidden = false;
      result.textContent = sentence(t("Заявка подана. Служба поддержки рассмотрит её до {date}", { date: formatDate(request.due_on) }));
      result.className = "note";
    } catch (error) {
      if (error.code === "unpaid_loan" || error.code === "conflict") {
        form.reset();
        result.hidden = false;
        result.textContent = error.message; // why it is refused, in the API's words
        result.className = "note note-warning";
        result.focus();
        return;
      }
      failed(error, form);
    }
  });
}

async function reportCompromise(event) {
  event.preventDefault();
  const form = $("#compromise-form");
  await busy(form, async () => {
    try {
      const body = formValues(form);
      if (!body.description.trim()) delete body.description;
      await api.post("/v1/me/compromise", body);
      form.reset();
      // Every session ended with the report, this one too: the page is signed out.
      setSignedIn(null);
      go("compromise-done", "replace");
    } catch (error) {
      failed(error, form);
    }
  });
}

async function loadSessions() {
  const list = $("#sessions");
  list.replaceChildren(el("li", { class: "empty" }, t("Загрузка…")));
  try {
    const sessions = await api.get("/v1/me/sessions");
    list.replaceChildren(...sessions.items.map((s) => el("li", {},
      el("p", { class: "item-title" }, s.device || t("Неизвестное устройство"),
        s.current ? el("span", { class: "badge badge-approved" }, t("Этот сеанс")) : null),
      el("p", { class: "item-meta" },
        t("Вход {start} · активность {last}", { start: formatDate(s.created_at), last: formatDate(s.last_used_at) }),
        s.ip_address ? ` · ${t("адрес {ip}", { ip: s.ip_address })}` : ""),
      s.current ? null : el("button", { type: "button", class: "link danger", onclick: () => endSession(s.session_id) }, t("Завершить сеанс")))));
  } catch (error) {
    failed(error);
  }
}

async function endSession(id) {
  try {
    await api.del(`/v1/me/sessions/${encodeURIComponent(id)}`);
    announce(t("Сеанс завершён."));
    loadSessions();
  } catch (error) {
    failed(error);
  }
}

async function endOtherSessions() {
  try {
    const answer = await api.post("/v1/me/sessions/end-others");
    announce(t("Завершено сеансов: {n}.", { n: answer.sessions_ended }));
    loadSessions();
  } catch (error) {
    failed(error);
  }
}

const EXPORT_SECTIONS = [
  ["personal_data", "Персональные данные"], ["account", "Учётная запись"], ["loans", "Займы"],
  ["requests", "Обращения"], ["sessions", "Сеансы"], ["consent", "Согласие"], ["audit", "Журнал действий"],
];

/** One value of the export, readable: objects as term/value pairs, lists numbered. */
function exportValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) {
    if (!value.length) return t("Нет записей.");
    return el("ol", { class: "export-list" }, ...value.map((item) => el("li", {}, exportValue(item))));
  }
  if (typeof value === "object") {
    return el("dl", { class: "pairs" }, ...Object.entries(value).map(([key, item]) =>
      el("div", {}, el("dt", {}, key), el("dd", {}, exportValue(item)))));
  }
  if (typeof value === "boolean") return value ? t("да") : t("нет");
  const text = String(value);
  return text.length > 200 ? el("p", { class: "export-text" }, text) : text;
}

async function loadExport() {
  const box = $("#export-data");
  box.replaceChildren(el("p", { class: "empty" }, t("Загрузка…")));
  try {
    const data = await api.get("/v1/me/export");
    box.replaceChildren(...EXPORT_SECTIONS.filter(([key]) => key in data).map(([key, title]) =>
      el("section", { class: "export-section", "aria-labelledby": `export-${key}` },
        el("h2", { id: `export-${key}` }, t(title)), exportValue(data[key]))));
  } catch (error) {
    box.replaceChildren();
    failed(error);
  }
}

async function exportData() {
  try {
    await api.download("/v1/me/export", "hava-export.json");
    announce(t("Файл с вашими данными сохранён."));
  } catch (error) {
    failed(error);
  }
}

// --- languages --------------------------------------------------------------

/** The switch names the other language, in that language: «Қазақша» / «Русский». */
function labelSwitch() {
  const other = lang() === "kk" ? "ru" : "kk";
  const button = $("#lang-switch");
  button.textContent = other === "kk" ? "Қазақша" : "Русский";
  button.lang = other;
  button.dataset.lang = other;
}

/** Signed in: the account's language too, so SMS and e-mail follow it (404 = not built yet). */
async function sendLanguage() {
  let chosen = null;
  try { chosen = localStorage.getItem("hava.lang"); } catch { /* storage disabled */ }
  if (!state.user || !chosen) return;
  try { await api.put("/v1/me/language", { language: lang() }); } catch { /* older API: the page alone */ }
}

/** On a device where no language was chosen yet, the account's own language is used. */
function adoptAccountLanguage(profile) {
  let chosen = null;
  try { chosen = localStorage.getItem("hava.lang"); } catch { /* storage disabled */ }
  if (chosen || !profile.language || profile.language === lang()) return;
  setLang(profile.language);
  languageChanged();
}

/** Everything already written by script, again in the new language. */
function languageChanged() {
  labelSwitch();
  if (state.product) describeLimits();
  renderQuote();
  showBirthDate();
  renderFooter();
  consentLoaded = false;
}

async function switchLanguage() {
  setLang($("#lang-switch").dataset.lang);
  languageChanged();
  await sendLanguage();
  // The view again, in the new language (the API's texts too); no new history entry.
  if (currentView && currentView !== "code") go(currentView, "replace");
  else if (currentView === "code") resumeCodeScreen("replace");
}

function renderFooter() {
  const about = state.product && state.product.lender;
  if (!about) return;
  const name = lang() === "kk" ? about.name_kk : about.name_ru;
  $("#foot-lender").textContent = [name, about.licence && t("Лицензия {licence}", { licence: about.licence })]
    .filter(Boolean).join(" · ");
  const contacts = [];
  if (about.support_phone) contacts.push(el("a", { href: `tel:${about.support_phone.replace(/\s/g, "")}` }, about.support_phone));
  if (about.support_email) contacts.push(el("a", { href: `mailto:${about.support_email}` }, about.support_email));
  $("#foot-support").replaceChildren(...(contacts.length ? [t("Поддержка: "), ...contacts.flatMap((c, i) => (i ? [" · ", c] : [c]))] : []));
}

// --- start ------------------------------------------------------------------

async function start() {
  try {
    state.product = await api.get("/v1/product");
  } catch (error) {
    if (error.code !== "maintenance") {
      maintenance(t("Сервис временно недоступен. Попробуйте зайти через несколько минут."));
    }
    return;
  }
  const offer = restoreDraft();
  setupCalculator(state.product, offer);
  renderFooter();
  await fetchQuote(); // the offer first: a reload on a registration step needs it
  try {
    setSignedIn(await api.get("/v1/me"));
  } catch {
    setSignedIn(null);
  }
  const asked = location.hash.slice(1);
  go(asked || (state.user ? "cabinet" : "calculator"), "replace");
}

function wire() {
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-go]");
    if (!target) return;
    event.preventDefault();
    go(target.dataset.go);
  });
  $("#calc-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!state.offer) { requestQuote(0); return; }
    renderQuote();
    go("questionnaire");
  });
  const questionnaire = $("#questionnaire-form");
  questionnaire.addEventListener("submit", submitQuestionnaire);
  questionnaire.addEventListener("input", () => saveDraft());
  questionnaire.addEventListener("change", () => saveDraft());
  questionnaire.addEventListener("focusout", (event) => {
    if (event.target.name) checkField(event.target);
  });
  $("#f-phone").addEventListener("input", (event) => check.mask(event.target, check.formatPhone));
  $("#f-iin").addEventListener("input", (event) => check.mask(event.target, (v) => check.onlyDigits(v, 12)));
  $("#f-id_number").addEventListener("input", (event) => check.mask(event.target, (v) => check.onlyDigits(v, 9)));
  for (const input of $$("input.date")) input.addEventListener("input", (event) => check.mask(event.target, check.formatDay));
  $("#code-change").addEventListener("click", () => {
    go("questionnaire");
    $("#f-phone").focus();
  });
  $("#password-change-form").addEventListener("submit", changePassword);
  $("#email-change-form").addEventListener("submit", startEmailChange);
  $("#email-confirm-form").addEventListener("submit", confirmEmailChange);
  $("#report-again").addEventListener("click", () => { resetReport(); $("#rep-login").focus(); });
  $("#lang-switch").addEventListener("click", switchLanguage);
  $("#password-form").addEventListener("submit", submitRegistration);
  $("#code-form").addEventListener("submit", confirmRegistration);
  $("#code-resend").addEventListener("click", resendRegistrationCode);
  $("#login-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#recovery-form").addEventListener("submit", startRecovery);
  $("#recovery-confirm-form").addEventListener("submit", confirmRecovery);
  $("#recovery-resend").addEventListener("click", resendRecovery);
  $("#report-form").addEventListener("submit", reportAnonymously);
  $("#consent-accept").addEventListener("click", acceptConsent);
  $("#phone-form").addEventListener("submit", startPhoneChange);
  $("#phone-code-form").addEventListener("submit", confirmNewPhone);
  $("#phone-resend").addEventListener("click", resendPhoneCode);
  $("#deletion-form").addEventListener("submit", requestDeletion);
  $("#compromise-form").addEventListener("submit", reportCompromise);
  $("#sessions-end-others").addEventListener("click", endOtherSessions);
  $("#export-download").addEventListener("click", exportData);
  $("#maintenance-retry").addEventListener("click", () => window.location.reload());
}

translateStatic();
labelSwitch();
wire();
start();
