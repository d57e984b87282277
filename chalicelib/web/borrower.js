// The borrower's pages: calculator → questionnaire → password → SMS code → cabinet,
// sign-in, recovery, reports and the cabinet's requests. A client of /v1; it decides nothing.

import { client, uploadToBucket } from "./api.js";
import {
  $, $$, el, show, announce, alertError, clearErrors, showFieldErrors, formValues,
  formatMoney, formatDate, countdown, busy,
} from "./ui.js";

const api = client({
  csrfCookie: "__Host-hava_csrf",
  onMaintenance: (error) => maintenance(error.message),
  // Only a session that was open can end (the first probe of /v1/me is a 401 for guests).
  onSignedOut: () => { if (state.user) signedOut("Сессия завершена. Войдите снова."); },
});

const state = { product: null, offer: null, registrationId: null, recoveryId: null, user: null };
const stops = [];
const stopTimers = () => { while (stops.length) stops.pop()(); };

// --- navigation -------------------------------------------------------------

const VIEWS_FOR_USERS = new Set(["cabinet", "phone", "deletion", "compromise", "sessions"]);

function go(view) {
  stopTimers();
  if (VIEWS_FOR_USERS.has(view) && !state.user) view = "login";
  if (view === "cabinet") return enterCabinet();
  if (view === "sessions") loadSessions();
  if (view === "phone") resetPhoneChange();
  if (view === "deletion") $("#deletion-result").hidden = true;
  if (view === "questionnaire") loadConsentText();
  if (view === "recovery") {
    $("#recovery-form").hidden = false;
    $("#recovery-confirm-form").hidden = true;
    $("#recovery-reason").hidden = true;
  }
  show(view);
}

function setSignedIn(user) {
  state.user = user;
  for (const node of $$("[data-when]")) node.hidden = (node.dataset.when === "user") !== Boolean(user);
}

function signedOut(message) {
  setSignedIn(null);
  go("login");
  if (message) announce(message);
}

function maintenance(message) {
  stopTimers();
  for (const node of $$("[data-when]")) node.hidden = true;
  if (message) $("#maintenance-message").textContent = message;
  show("maintenance");
}

/** Any failed call: field errors beside the fields, the rest in the page alert. */
function failed(error, form) {
  if (error.status === 503 && error.code === "maintenance") return;
  if (error.status === 401 && error.code === "unauthenticated") return;
  if (error.code === "password_recovery_required") { recoveryRequired(error.message); return; }
  if (error.code === "consent_required") { showConsent(error.message); return; }
  const unplaced = form ? showFieldErrors(form, error.fields) : Object.values(error.fields);
  if (!Object.keys(error.fields).length || unplaced.length) {
    alertError([error.message, ...unplaced].join(" "));
  } else {
    announce(error.message);
  }
}

// --- calculator -------------------------------------------------------------

let quoteSeq = 0;
let quoteTimer = 0;

function pairInputs(numberId, min, max, step, value) {
  const number = $(`#${numberId}`);
  const range = $(`#${numberId}-range`);
  for (const input of [number, range]) {
    input.min = String(min);
    input.max = String(max);
    input.step = String(step);
    input.value = String(value);
  }
  range.addEventListener("input", () => { number.value = range.value; requestQuote(); });
  number.addEventListener("input", () => {
    if (number.value !== "" && Number(number.value) >= min && Number(number.value) <= max) {
      range.value = number.value;
    }
    requestQuote();
  });
  number.addEventListener("change", () => {
    const clamped = Math.min(max, Math.max(min, Math.round(Number(number.value) || min)));
    number.value = String(clamped);
    range.value = String(clamped);
    requestQuote();
  });
}

function setupCalculator(product) {
  const amountStep = product.max_amount - product.min_amount >= 10000 ? 1000 : 1;
  const middle = Math.round((product.min_amount + product.max_amount) / 2 / amountStep) * amountStep;
  pairInputs("calc-amount", product.min_amount, product.max_amount, amountStep, middle);
  pairInputs("calc-term", product.min_term_days, product.max_term_days, 1,
    Math.round((product.min_term_days + product.max_term_days) / 2));
  $("#calc-amount-hint").textContent =
    `от ${formatMoney(product.min_amount)} до ${formatMoney(product.max_amount)}`;
  $("#calc-term-hint").textContent = `от ${product.min_term_days} до ${product.max_term_days} дней`;
  requestQuote(0);
}

function requestQuote(delay = 150) {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(fetchQuote, delay);
}

async function fetchQuote() {
  const form = $("#calc-form");
  const amount = $("#calc-amount").value;
  const term = $("#calc-term").value;
  const seq = ++quoteSeq;
  try {
    const params = new URLSearchParams({ amount, term_days: term });
    const quote = await api.get(`/v1/calculator?${params}`);
    if (seq !== quoteSeq) return; // a newer position already asked
    clearErrors(form);
    $("#q-total").textContent = formatMoney(quote.total);
    $("#q-date").textContent = formatDate(quote.due_date);
    $("#q-interest").textContent = formatMoney(quote.interest);
    $("#q-gesv").textContent = `${quote.gesv_percent} %`;
    $("#q-rate").textContent = `Ставка ${quote.daily_rate_percent} % в день. ГЭСВ — годовая эффективная ставка вознаграждения.`;
    state.offer = { amount: quote.amount, term_days: quote.term_days, quote };
  } catch (error) {
    if (seq !== quoteSeq) return;
    clearErrors(form);
    state.offer = null;
    failed(error, form);
  }
}

// --- registration -----------------------------------------------------------

const QUESTIONNAIRE = ["surname", "name", "patronymic", "iin", "id_number", "id_issued_by",
  "id_issued_on", "id_expires_on", "phone", "email", "consent"];

let consentLoaded = false;
async function loadConsentText() {
  if (consentLoaded) return;
  try {
    const consent = await api.get("/v1/consent");
    $("#consent-text").textContent = consent.text;
    consentLoaded = true;
  } catch {
    $("#consent-text").textContent = "Текст согласия сейчас недоступен.";
  }
}

function requiredMissing(form) {
  const fields = {};
  for (const input of $$("[required]", form)) {
    const empty = input.type === "checkbox" ? !input.checked : !input.value.trim();
    if (empty) fields[input.name] = input.type === "checkbox" ? "Нужно ваше согласие." : "Заполните поле.";
  }
  return fields;
}

function registrationBody() {
  const body = { ...formValues($("#questionnaire-form")), ...formValues($("#password-form")) };
  if (!body.patronymic || !body.patronymic.trim()) delete body.patronymic;
  body.amount = state.offer.amount;
  body.term_days = state.offer.term_days;
  return body;
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
      state.registrationId = started.registration_id;
      startCodeScreen(started);
    } catch (error) {
      const fields = error.fields || {};
      const earlier = Object.keys(fields).filter((name) => QUESTIONNAIRE.includes(name));
      if (earlier.length) {
        show("questionnaire");
        const questionnaire = $("#questionnaire-form");
        clearErrors(questionnaire);
        const inQuestionnaire = Object.fromEntries(earlier.map((name) => [name, fields[name]]));
        showFieldErrors(questionnaire, inQuestionnaire);
        alertError(error.message);
        return;
      }
      if (fields.amount || fields.term_days || error.code === "offer_not_allowed") {
        show("calculator");
        alertError([error.message, ...Object.values(fields)].join(" "));
        return;
      }
      failed(error, form);
    }
  });
}

function startCodeScreen(started) {
  show("code");
  $("#code-message").textContent = started.message;
  $("#f-code").value = "";
  stopTimers();
  stops.push(countdown($("#code-resend"), $("#code-countdown"), started.resend_after));
  announce(started.message);
}

async function resendRegistrationCode() {
  try {
    const started = await api.post(`/v1/registrations/${encodeURIComponent(state.registrationId)}/resend`);
    startCodeScreen(started);
  } catch (error) {
    failed(error, $("#code-form"));
  }
}

async function confirmRegistration(event) {
  event.preventDefault();
  const form = $("#code-form");
  clearErrors(form);
  await busy(form, async () => {
    try {
      const done = await api.post(
        `/v1/registrations/${encodeURIComponent(state.registrationId)}/confirm`,
        { code: $("#f-code").value.trim() },
      );
      for (const f of ["#questionnaire-form", "#password-form", "#code-form"]) $(f).reset();
      announce("Кабинет создан, заявка на займ отправлена.");
      await enterCabinet(done);
    } catch (error) {
      failed(error, form);
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
      await enterCabinet();
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
  go("recovery");
  if (login) $("#r-login").value = login;
  const reason = $("#recovery-reason");
  reason.textContent = message;
  reason.hidden = false;
  announce(message);
  $("#recovery-form button[type=submit]").focus();
}

async function signOut() {
  try { await api.del("/v1/sessions/current"); } catch { /* the cookie is cleared either way */ }
  signedOut("Вы вышли из кабинета.");
}

function startRecoveryScreen(started) {
  $("#recovery-form").hidden = true;
  const form = $("#recovery-confirm-form");
  form.hidden = false;
  $("#recovery-message").textContent = started.message;
  announce(started.message);
  stopTimers();
  stops.push(countdown($("#recovery-resend"), $("#recovery-countdown"), started.resend_after));
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
    failed(error, $("#recovery-confirm-form"));
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
      go("login");
      announce(done.message);
    } catch (error) {
      failed(error, form);
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
      form.replaceChildren(el("p", { class: "note", role: "status" }, answer.message));
    } catch (error) {
      failed(error, form);
    }
  });
}

// --- cabinet ----------------------------------------------------------------

const PROFILE_FIELDS = [
  ["surname", "Фамилия"], ["name", "Имя"], ["patronymic", "Отчество"], ["iin", "ИИН"],
  ["phone", "Телефон"], ["email", "E-mail"], ["status", "Статус"],
];

async function enterCabinet() {
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
  try {
    const [loans, requests] = await Promise.all([api.get("/v1/me/loans"), api.get("/v1/requests")]);
    renderProfile(profile);
    renderLoans(loans.items);
    renderRequests(requests.items);
    show("cabinet");
  } catch (error) {
    failed(error);
  }
}

function renderProfile(profile) {
  $("#profile").replaceChildren(...PROFILE_FIELDS.filter(([key]) => profile[key]).map(([key, title]) =>
    el("div", {}, el("dt", {}, title), el("dd", {}, profile[key] === "active" ? "Активна" : profile[key]))));
}

const OPEN_LOAN = new Set(["submitted", "approved", "signed", "issued", "overdue"]);

function renderLoans(items) {
  const list = $("#loans");
  const rows = items.map(loanItem);
  if (!items.some((loan) => OPEN_LOAN.has(loan.status))) rows.unshift(el("li", {}, applyForm()));
  if (!rows.length) rows.push(el("li", { class: "empty" }, "Займов пока нет."));
  list.replaceChildren(...rows);
}

function loanItem(loan) {
  const base = `/v1/me/loans/${encodeURIComponent(loan.loan_id)}`;
  const meta = [
    `К возврату по договору ${formatMoney(loan.total_to_repay)}`,
    loan.due_date ? ` до ${formatDate(loan.due_date)}` : "",
    ` · ГЭСВ ${loan.gesv_percent} % · подана ${formatDate(loan.created_at)}`,
  ];
  const parts = [
    el("p", { class: "item-title" }, `${formatMoney(loan.amount)} на ${loan.term_days} дн.`,
      el("span", { class: `badge badge-${loan.status}` }, loan.status_text)),
    el("p", { class: "item-meta" }, ...meta),
  ];
  if (loan.decision_reason) parts.push(el("p", { class: "item-reason" }, `Причина отказа: ${loan.decision_reason}`));
  if (loan.owed_today) {
    parts.push(el("dl", { class: "loan-figures" },
      figure("К оплате сегодня", formatMoney(loan.owed_today)),
      figure("Дата погашения", formatDate(loan.due_date)),
      loan.days_overdue > 0
        ? figure("Просрочка", `${loan.days_overdue} дн., неустойка ${formatMoney(loan.penalty_owed)}`)
        : figure("Осталось дней", String(loan.days_left)),
      figure("Досрочное погашение сегодня", formatMoney(loan.early_repayment_today)),
      figure("Оплачено", formatMoney(loan.paid_total))));
  }
  if (loan.repayment_details) {
    const d = loan.repayment_details;
    parts.push(el("p", { class: "item-meta" },
      `Реквизиты для оплаты: ${d.recipient}, БИН ${d.bin}, IBAN ${d.iban}${d.bank ? `, ${d.bank}` : ""}. `,
      el("strong", {}, `Назначение платежа: ${d.payment_reference}`)));
  }
  if (loan.payments && loan.payments.length) {
    parts.push(el("ul", { class: "payments", "aria-label": "Платежи" }, ...loan.payments.map((p) =>
      el("li", {}, `${formatDate(p.paid_on)}: ${formatMoney(p.amount)}`,
        p.kind === "extension" ? " (продление)" : ""))));
  }
  if (loan.status === "approved" && !loan.payout_account_set) parts.push(payoutForm(base));
  if (loan.status === "approved" && loan.payout_account_set) parts.push(signBlock(base, "signature", null));
  if (loan.signed_at) {
    parts.push(el("button", { type: "button", class: "link", onclick: () => openAgreement(base) },
      "Скачать договор (PDF)"));
  }
  if (loan.status === "issued" || loan.status === "overdue") parts.push(extensionForm(base));
  return el("li", {}, ...parts);
}

function figure(title, value) {
  return el("div", {}, el("dt", {}, title), el("dd", {}, value));
}

function field(id, label, attrs) {
  return el("p", { class: "field" }, el("label", { for: id }, label), el("input", { id, ...attrs }));
}

function applyForm() {
  const form = el("form", { class: "inline-form", novalidate: true, "aria-labelledby": "apply-title" },
    el("h3", { id: "apply-title" }, "Новая заявка на займ"),
    field("apply-amount", "Сумма, ₸", { name: "amount", type: "number", inputmode: "numeric", required: true, value: "50000" }),
    field("apply-term", "Срок, дней", { name: "term_days", type: "number", inputmode: "numeric", required: true, value: "15" }),
    el("button", { type: "submit" }, "Подать заявку"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    await busy(form, async () => {
      try {
        await api.post("/v1/me/loans", { amount: Number(values.amount), term_days: Number(values.term_days) });
        announce("Заявка подана.");
        await enterCabinet();
      } catch (error) { failed(error, form); }
    });
  });
  return form;
}

function payoutForm(base) {
  const form = el("form", { class: "inline-form", novalidate: true },
    el("h3", {}, "Счёт для перечисления займа"),
    field(`iban-${base}`, "IBAN вашего счёта (KZ…)", { name: "iban", autocomplete: "off", required: true }),
    el("p", { class: "field" }, el("label", {},
      el("input", { type: "checkbox", name: "own_account", required: true }),
      " Счёт открыт на моё имя")),
    el("button", { type: "submit" }, "Сохранить счёт"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    await busy(form, async () => {
      try {
        await api.put(`${base}/payout-account`, { iban: values.iban, own_account: form.elements.own_account.checked });
        announce("Счёт сохранён.");
        await enterCabinet();
      } catch (error) { failed(error, form); }
    });
  });
  return form;
}

function signBlock(base, step, body) {
  const box = el("div", { class: "inline-form" });
  const start = el("button", { type: "button" }, step === "signature" ? "Подписать договор по SMS" : "Получить код");
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
    return [el("dl", { class: "loan-figures", "aria-label": "Условия договора" },
      figure("Заёмщик", o.borrower_name),
      figure("Кредитор", `${o.lender.name}, БИН ${o.lender.bin}`),
      figure("Сумма", formatMoney(o.amount)), figure("Срок", `${o.term_days} дн.`),
      figure("Ставка в день", `${o.daily_rate_percent} %`), figure("ГЭСВ", `${o.gesv_percent} %`),
      figure("К возврату", formatMoney(o.total_to_repay)),
      figure("Дата погашения при выдаче сегодня", formatDate(o.due_date_if_issued_today)),
      figure("Неустойка", o.penalty_rules))];
  }
  const x = sent.extension;
  return [el("p", {}, `Продление на ${x.days} дн.: оплатить сейчас ${formatMoney(x.pay_now)}, новая дата погашения ${formatDate(x.new_due_date)}, ставка ${x.daily_rate_percent} % в день.`)];
}

function codeForm(base, step, sent) {
  const form = el("form", { class: "inline-form", novalidate: true },
    el("p", {}, `Код отправлен на ${sent.phone}.`),
    field(`code-${step}-${base}`, "Код из SMS", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    el("button", { type: "submit" }, "Подписать"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(form, async () => {
      try {
        await api.post(`${base}/${step}/confirm`, { challenge_id: sent.challenge_id, code: formValues(form).code });
        announce(step === "signature" ? "Договор подписан." : "Продление подписано. Оплатите вознаграждение по реквизитам.");
        await enterCabinet();
      } catch (error) { failed(error, form); }
    });
  });
  return form;
}

function extensionForm(base) {
  const form = el("form", { class: "inline-form", novalidate: true },
    el("h3", {}, "Продлить займ"),
    field(`ext-${base}`, "На сколько дней", { name: "days", type: "number", inputmode: "numeric", required: true, value: "10" }),
    el("button", { type: "submit" }, "Рассчитать и получить код"));
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
  if (!items.length) { list.replaceChildren(el("li", { class: "empty" }, "Обращений нет.")); return; }
  list.replaceChildren(...items.map((request) => el("li", {},
    el("p", { class: "item-title" }, request.type_text,
      el("span", { class: `badge badge-${request.status}` }, request.status_text)),
    el("p", { class: "item-meta" }, `Подано ${formatDate(request.created_at)} · срок рассмотрения до ${formatDate(request.due_on)}`),
    request.rejection_reason ? el("p", { class: "item-reason" }, `Причина отказа: ${request.rejection_reason}`) : null,
    request.type === "phone_change" && request.status === "awaiting_documents"
      ? el("button", { type: "button", class: "link", onclick: () => resumePhoneChange(request) }, "Продолжить")
      : null)));
}

let consentVersion = null;
async function showConsent(reason) {
  try {
    const consent = await api.get("/v1/consent");
    consentVersion = consent.version;
    $("#consent-reason").textContent = reason;
    $("#consent-new-text").textContent = consent.text;
    show("consent");
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
const DOCUMENT_STATUS = {
  awaiting_upload: "Не загружено",
  checking: "Проверяется…",
  accepted: "Принято",
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
      stops.push(countdown($("#phone-resend"), $("#phone-countdown"), 60));
      announce("Мы отправили код на новый номер.");
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
      item = el("li", { id: `upload-${doc.document}`, class: "upload" },
        el("label", { for: inputId }, doc.title),
        el("input", {
          id: inputId, type: "file", name: doc.document,
          accept: (form && form.content_types ? form.content_types : ["image/jpeg", "image/png"]).join(","),
          "aria-describedby": `verdict-${doc.document}`,
          onchange: (event) => uploadDocument(doc.document, event.target),
        }),
        el("progress", { id: `progress-${doc.document}`, max: 100, value: 0, "aria-label": `Загрузка: ${doc.title}` }),
        el("p", { id: `verdict-${doc.document}`, class: "verdict", "aria-live": "polite" }));
      list.append(item);
    }
    const verdict = $(`#verdict-${doc.document}`);
    const text = DOCUMENT_STATUS[doc.status] + (doc.reason ? `: ${doc.reason}` : "");
    if (verdict.dataset.status !== doc.status || verdict.dataset.reason !== (doc.reason || "")) {
      if (!(doc.status === "awaiting_upload" && verdict.dataset.uploading)) {
        verdict.textContent = text;
        verdict.dataset.status = doc.status;
        verdict.dataset.reason = doc.reason || "";
        verdict.className = `verdict verdict-${doc.status}`;
      }
    }
    $(`#file-${doc.document}`).disabled = doc.status === "accepted" || doc.status === "checking";
  }
  $("#phone-status").textContent = request.status === "awaiting_documents"
    ? `Статус: ${request.status_text}`
    : `Статус: ${request.status_text}. Срок рассмотрения — до ${formatDate(request.due_on)}.`;
}

async function uploadDocument(doc, input) {
  const file = input.files && input.files[0];
  if (!file) return;
  const verdict = $(`#verdict-${doc}`);
  const progress = $(`#progress-${doc}`);
  const limit = phone.uploads[doc] && phone.uploads[doc].max_bytes;
  if (limit && file.size > limit) {
    verdict.textContent = `Файл больше ${Math.round(limit / 1048576)} МБ.`;
    return;
  }
  const types = (phone.uploads[doc] && phone.uploads[doc].content_types) || ["image/jpeg", "image/png"];
  if (!types.includes(file.type)) {
    verdict.textContent = "Загрузите фото в формате JPEG или PNG.";
    return;
  }
  verdict.dataset.uploading = "1";
  verdict.textContent = "Загружается…";
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
    verdict.textContent = "Загружено, проверяется…";
    verdict.dataset.status = "";
    announce("Файл загружен, проверяем его.");
    pollPhoneChange();
  } catch {
    verdict.textContent = "Не удалось загрузить файл. Попробуйте ещё раз.";
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
      announce(`Заявка на смену номера: ${request.status_text}.`);
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
      announce("Новый номер подтверждён.");
      renderUploads(request);
    } catch (error) {
      failed(error, form);
    }
  });
}

async function resendPhoneCode() {
  try {
    const answer = await api.post(`/v1/requests/${encodeURIComponent(phone.requestId)}/resend-code`);
    stops.push(countdown($("#phone-resend"), $("#phone-countdown"), answer.resend_after));
    announce("Код отправлен ещё раз.");
  } catch (error) {
    failed(error, $("#phone-code-form"));
  }
}

// --- deletion, compromise, sessions, export ---------------------------------

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
      result.hidden = false;
      result.textContent = `Заявка подана. Служба поддержки рассмотрит её до ${formatDate(request.due_on)}.`;
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
      announce("Сообщение отправлено, все сеансы завершены.");
      await enterCabinet();
    } catch (error) {
      failed(error, form);
    }
  });
}

async function loadSessions() {
  const list = $("#sessions");
  list.replaceChildren(el("li", { class: "empty" }, "Загрузка…"));
  try {
    const sessions = await api.get("/v1/me/sessions");
    list.replaceChildren(...sessions.items.map((s) => el("li", {},
      el("p", { class: "item-title" }, s.device || "Неизвестное устройство",
        s.current ? el("span", { class: "badge badge-approved" }, "Этот сеанс") : null),
      el("p", { class: "item-meta" },
        `Вход ${formatDate(s.created_at)} · активность ${formatDate(s.last_used_at)}`,
        s.ip_address ? ` · адрес ${s.ip_address}` : ""),
      s.current ? null : el("button", { type: "button", class: "link danger", onclick: () => endSession(s.session_id) }, "Завершить сеанс"))));
  } catch (error) {
    failed(error);
  }
}

async function endSession(id) {
  try {
    await api.del(`/v1/me/sessions/${encodeURIComponent(id)}`);
    announce("Сеанс завершён.");
    loadSessions();
  } catch (error) {
    failed(error);
  }
}

async function endOtherSessions() {
  try {
    const answer = await api.post("/v1/me/sessions/end-others");
    announce(`Завершено сеансов: ${answer.sessions_ended}.`);
    loadSessions();
  } catch (error) {
    failed(error);
  }
}

async function exportData() {
  try {
    await api.download("/v1/me/export", "hava-export.json");
    announce("Файл с вашими данными сохранён.");
  } catch (error) {
    failed(error);
  }
}

// --- start ------------------------------------------------------------------

async function start() {
  try {
    state.product = await api.get("/v1/product");
  } catch (error) {
    if (error.code !== "maintenance") {
      maintenance("Сервис временно недоступен. Попробуйте зайти через несколько минут.");
    }
    return;
  }
  setupCalculator(state.product);
  try {
    const profile = await api.get("/v1/me");
    setSignedIn(profile);
    await enterCabinet();
  } catch {
    setSignedIn(null);
    show("calculator");
  }
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
    $("#q-offer").textContent =
      `${formatMoney(state.offer.amount)} на ${state.offer.term_days} дн., вернуть ${formatMoney(state.offer.quote.total)}`;
    go("questionnaire");
  });
  $("#questionnaire-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const missing = requiredMissing(form);
    if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
    go("password");
  });
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
  $("#export").addEventListener("click", exportData);
  $("#maintenance-retry").addEventListener("click", () => window.location.reload());
}

wire();
start();
