// The support desk: sign-in with password + TOTP, a day's queue (counts per type, the
// borrower's name, age and deadline), one request with its photos (a viewer with zoom and
// rotate) beside the borrower's data, an IIN check against the questionnaire, decisions
// with nothing pre-selected (approvals confirmed, rejections with a reason from the
// server's list, an internal note kept out of the borrower's sight), «Следующая», locks
// on break-in reports, the audit trail in Russian words; for admins the staff
// list and one-time enrolment links; for new members the enrolment itself (#enrol=<token>:
// the token stays in the fragment, never in a request URL). A client of /admin/v1.

import { client } from "./api.js";
import {
  $, $$, el, show, announce, alertError, clearErrors, showFieldErrors, formValues, formatDate, busy,
} from "./ui.js";

const api = client({
  csrfCookie: "__Host-hava_staff_csrf",
  onSignedOut: () => { if (state.user) signedOut("Сеанс завершён. Войдите снова."); },
});

const state = {
  user: false, admin: false, queueType: "phone_change", queueCursor: null, request: null, auditCursor: null,
  enrolToken: null, loansQueue: "applications", loansCursor: null, queueTypes: null,
  viewer: { scale: 1, rotation: 0 },
};
const STAFF_STATUS = { pending: "ждёт регистрации", enrolling: "ждёт первого входа", active: "активен", disabled: "отключён" };
const DECISIONS = { approved: "Одобрить", rejected: "Отклонить", resolved: "Закрыть как решённое" };
const NOTE_MIN = 5;
const ACCOUNT_STATUS = { active: "активна", locked: "заблокирована", deleted: "удалена" };
const DOCUMENT_STATUS = { awaiting_upload: "не загружен", checking: "проверяется", accepted: "принят", rejected: "не принят" };

function setSignedIn(yes, admin = false) {
  state.user = yes;
  state.admin = yes && admin;
  for (const node of $$("[data-when]")) {
    const when = node.dataset.when;
    node.hidden = !yes || (when === "admin" && !admin) || (when === "reviewer" && admin);
  }
}

// Admins manage staff only; everyone else lands on the queue.
async function enterDesk() {
  try {
    await loadStaff();
    setSignedIn(true, true);
    show("staff");
    return;
  } catch (error) {
    if (error.status !== 403) throw error;
  }
  setSignedIn(true);
  await openQueue();
}

function signedOut(message) {
  setSignedIn(false);
  show("login");
  if (message) announce(message);
}

function failed(error, form) {
  if (error.status === 401 && error.code === "unauthenticated") return;
  const unplaced = form ? showFieldErrors(form, error.fields) : Object.values(error.fields);
  alertError([error.message, ...unplaced].join(" "));
}

const qs = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();

// --- sign-in ----------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const form = $("#login-form");
  const message = $("#login-error");
  message.textContent = "";
  clearErrors(form);
  await busy(form, async () => {
    try {
      await api.post("/admin/v1/sessions", formValues(form));
      form.reset();
      await enterDesk();
    } catch (error) {
      // A used or wrong code is never worth retyping: the field is emptied for the next one.
      $("#s-totp").value = "";
      if (error.status === 401 || error.status === 429) {
        message.textContent = error.message;
        $("#s-totp").focus();
        return;
      }
      failed(error, form);
    }
  });
}

async function signOut() {
  try { await api.del("/admin/v1/sessions/current"); } catch { /* cleared either way */ }
  signedOut("Вы вышли.");
}

// --- enrolment (a new member, from the one-time link) -------------------------

async function enrol(event) {
  event.preventDefault();
  const form = $("#enrol-form");
  const message = $("#enrol-error");
  message.textContent = "";
  clearErrors(form);
  await busy(form, async () => {
    try {
      const done = await api.post("/admin/v1/enrolment", { token: state.enrolToken, ...formValues(form) });
      state.enrolToken = null;
      form.reset();
      form.hidden = true;
      $("#e-uri").value = done.provisioning_uri;
      $("#e-secret").value = new URL(done.provisioning_uri).searchParams.get("secret") || "";
      $("#s-username").value = done.username;
      $("#enrol-totp").hidden = false;
      announce("Пароль задан. Добавьте ключ в приложение-аутентификатор.");
    } catch (error) {
      if (error.status === 404 || error.status === 429) {
        message.textContent = error.message;
        return;
      }
      failed(error, form);
    }
  });
}

// --- staff (admins) ----------------------------------------------------------

async function loadStaff() {
  const page = await api.get("/admin/v1/staff");
  const rows = page.items.map((member) => el("tr", {},
    el("td", { class: "mono" }, member.username),
    el("td", { class: "mono" }, member.staff_number),
    el("td", {}, member.roles.join(", ")),
    el("td", {}, STAFF_STATUS[member.status] || member.status),
    el("td", {}, ["pending", "enrolling"].includes(member.status) ? el("button", {
      type: "button", class: "secondary",
      "aria-label": `Новая ссылка для ${member.username}`,
      onclick: () => reissue(member.username),
    }, "Новая ссылка") : null)));
  $("#staff").replaceChildren(...rows);
}

function showLink(invitation) {
  $("#staff-link-url").value = new URL(invitation.enrolment_link, location.href).href;
  $("#staff-link-expires").textContent = formatDate(invitation.enrolment_expires_at);
  $("#staff-link").hidden = false;
  $("#staff-link").focus();
}

async function createMember(event) {
  event.preventDefault();
  const form = $("#staff-form");
  const message = $("#staff-error");
  message.textContent = "";
  clearErrors(form);
  const roles = [...form.querySelectorAll("input[name=role]:checked")].map((box) => box.value);
  await busy(form, async () => {
    try {
      const invitation = await api.post("/admin/v1/staff", { username: $("#n-username").value.trim(), roles });
      form.reset();
      showLink(invitation);
      await loadStaff();
    } catch (error) {
      if (error.status === 401) { signedOut(); return; }
      failed(error, form);
    }
  });
}

async function reissue(username) {
  try {
    showLink(await api.post(`/admin/v1/staff/${encodeURIComponent(username)}/enrolment`, {}));
    await loadStaff();
  } catch (error) {
    failed(error);
  }
}

// --- queue ------------------------------------------------------------------

/** How long a request has waited: «35 мин», «5 ч», «3 дн.». */
function waited(iso) {
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return `${minutes} мин`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} ч` : `${Math.floor(hours / 24)} дн.`;
}

/** Requests under review per type this member reviews; the types offered follow them. */
async function loadCounts() {
  const page = await api.get("/admin/v1/queue/counts");
  state.queueTypes = page.items.map((c) => c.type);
  $("#queue-counts").replaceChildren(...page.items.map((c) => el("li", { class: c.count ? "" : "empty-count" },
    `${c.type_text}: ${c.count}`)));
  for (const option of $("#queue-type").options) option.hidden = !state.queueTypes.includes(option.value);
  if (!state.queueTypes.includes(state.queueType) && state.queueTypes.length) state.queueType = state.queueTypes[0];
  $("#queue-type").value = state.queueType;
}

function queueRow(item) {
  const who = item.borrower_name || "—";
  return el("tr", { class: item.overdue ? "overdue" : "" },
    el("td", {}, who),
    el("td", {}, item.type_text),
    el("td", {}, waited(item.created_at), el("br"), el("span", { class: "hint" }, formatDate(item.created_at))),
    el("td", {}, formatDate(item.due_on), item.overdue ? el("span", { class: "badge badge-rejected" }, "просрочена") : null),
    el("td", {}, el("button", {
      type: "button", class: "secondary",
      "aria-label": `Открыть заявку: ${who}, ${item.type_text}, подана ${formatDate(item.created_at)}`,
      onclick: () => openRequest(item.request_id),
    }, "Открыть")));
}

async function openQueue(more = false) {
  if (!more) state.queueCursor = null;
  try {
    if (!more) await loadCounts();
    const page = await api.get(`/admin/v1/queue?${qs({ type: state.queueType, cursor: state.queueCursor })}`);
    const rows = page.items.map(queueRow);
    const body = $("#queue");
    if (more) body.append(...rows);
    else body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "Заявок нет."))]));
    state.queueCursor = page.next_cursor;
    $("#queue-more").hidden = !page.next_cursor;
    if (!more) show("queue");
  } catch (error) {
    if (error.status === 401) { signedOut(); return; }
    failed(error);
  }
}

/** «Следующая»: the oldest request of the same type still waiting (the decided one has left). */
async function openNext() {
  const current = state.request;
  try {
    const page = await api.get(`/admin/v1/queue?${qs({ type: current.type })}`);
    const next = page.items.find((item) => item.request_id !== current.request_id);
    if (next) { await openRequest(next.request_id); return; }
    state.queueType = current.type;
    await openQueue();
    announce("В очереди больше нет заявок этого типа.");
  } catch (error) {
    failed(error);
  }
}

// --- review -----------------------------------------------------------------

function pairs(entries) {
  return entries.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([title, value]) => el("div", {}, el("dt", {}, title), el("dd", {}, String(value))));
}

function borrowerPairs(request) {
  const b = request.borrower;
  if (!b) return [["Учётная запись", "не найдена по логину"]];
  const list = [
    ["Фамилия", b.surname], ["Имя", b.name], ["Отчество", b.patronymic], ["ИИН", b.iin],
    ["Дата рождения", b.birth_date ? formatDate(b.birth_date) : null],
    ["Текущий телефон", b.current_phone || b.phone], ["E-mail", b.email],
    ["Статус учётной записи", ACCOUNT_STATUS[b.account_status] || b.account_status], ["Учётная запись", b.account_id],
  ];
  if (b.id_card) {
    list.push(["Удостоверение №", b.id_card.number],
      ["Выдано", b.id_card.issued_on ? formatDate(b.id_card.issued_on) : null],
      ["Действительно до", b.id_card.expires_on ? formatDate(b.id_card.expires_on) : null]);
  }
  if (request.type === "phone_change") {
    list.unshift(["Новый номер", request.new_phone],
      ["Новый номер подтверждён", request.phone_confirmed ? "да" : "нет"]);
  }
  if (request.type === "deletion") {
    list.unshift(["Непогашенных займов", request.unpaid_loans]);
  }
  if (request.type === "compromise") {
    list.unshift(["Описание", request.description], ["Контакт", request.contact],
      ["Подано из кабинета", request.signed_in ? "да" : "нет"]);
  }
  return list;
}

function renderDocuments(request) {
  const card = $("#review-documents-card");
  const docs = request.documents || [];
  card.hidden = !docs.length;
  $("#review-documents").replaceChildren(...docs.map((doc) => el("figure", { class: "photo" },
    doc.download_url
      ? el("button", {
        type: "button", class: "photo-open", "aria-label": `Открыть фото: ${doc.title}`,
        onclick: () => openViewer(doc),
      }, el("img", { src: doc.download_url, alt: doc.title, loading: "lazy", referrerpolicy: "no-referrer" }))
      : el("div", { class: "photo-missing" }, "Нет изображения"),
    el("figcaption", {}, `${doc.title} — ${DOCUMENT_STATUS[doc.status] || doc.status}`,
      doc.reason ? `: ${doc.reason}` : ""))));
  const face = request.face_match;
  $("#review-facematch").textContent = face
    ? `Автоматическая сверка лица (${face.provider}): ${face.detail}${face.score != null ? `, оценка ${face.score}` : ""}. Решение принимает сотрудник.`
    : "";
}

// --- the photo viewer: zoom and rotate -----------------------------------------

function applyViewer() {
  const { scale, rotation } = state.viewer;
  // CSSOM, not a style attribute: the CSP allows no inline styles.
  $("#photo-image").style.transform = `rotate(${rotation}deg) scale(${scale})`;
}

function openViewer(doc) {
  state.viewer = { scale: 1, rotation: 0 };
  const image = $("#photo-image");
  image.src = doc.download_url;
  image.alt = doc.title;
  $("#photo-title").textContent = doc.title;
  applyViewer();
  $("#photo-dialog").showModal();
  $("#photo-zoom-in").focus();
}

function viewerStep(change) {
  const next = { ...state.viewer, ...change(state.viewer) };
  next.scale = Math.min(4, Math.max(0.5, Math.round(next.scale * 100) / 100));
  state.viewer = next;
  applyViewer();
}

// --- the decision: nothing pre-selected, approvals confirmed ---------------------

/** A modal question; resolves true only on the explicit «yes» (Escape and «Отмена» say no). */
function confirmDecision(text, yes) {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = text;
  $("#confirm-yes").textContent = yes;
  return new Promise((resolve) => {
    const finish = (answer) => {
      $("#confirm-yes").removeEventListener("click", onYes);
      $("#confirm-no").removeEventListener("click", onNo);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      resolve(answer);
    };
    const onYes = () => finish(true);
    const onNo = () => finish(false);
    const onCancel = (event) => { event.preventDefault(); finish(false); };
    $("#confirm-yes").addEventListener("click", onYes);
    $("#confirm-no").addEventListener("click", onNo);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    $("#confirm-no").focus(); // the safe answer has the focus
  });
}

function borrowerName(request) {
  const b = request.borrower;
  return b && b.surname ? [b.surname, b.name, b.patronymic].filter(Boolean).join(" ") : "заёмщика";
}

function approvalQuestion(request) {
  if (request.type === "phone_change") {
    return [`Сменить номер телефона ${borrowerName(request)} на ${request.new_phone}? `
      + "Все сеансы заёмщика завершатся, войти можно будет только с новым номером.", "Да, сменить номер"];
  }
  if (request.type === "deletion") {
    return [`Удалить учётную запись ${borrowerName(request)}? Персональные данные будут стёрты, `
      + "отменить это нельзя.", "Да, удалить"];
  }
  return ["Одобрить заявку?", "Да, одобрить"];
}

function chosenDecision() {
  return ($("#decision-form").querySelector("input[name=decision]:checked") || {}).value;
}

function showReasonField() {
  const rejecting = chosenDecision() === "rejected";
  $("#reason-field").hidden = !rejecting;
  $("#d-reason-code").required = rejecting;
  const code = $("#d-reason-code").value;
  const reason = (state.request.rejection_reasons || []).find((r) => r.code === code);
  $("#d-reason-text").textContent = reason ? `Заёмщик прочтёт: «${reason.borrower_text}»` : "";
}

function renderDecisionForm(request) {
  const options = $("#decision-options");
  options.replaceChildren(...request.decisions.map((decision) => el("div", { class: "check" },
    el("input", { type: "radio", id: `d-${decision}`, name: "decision", value: decision, required: true }),
    el("label", { for: `d-${decision}` }, DECISIONS[decision] || decision))));
  $("#d-reason-code").replaceChildren(el("option", { value: "" }, "— выберите причину —"),
    ...(request.rejection_reasons || []).map((r) => el("option", { value: r.code }, r.title)));
  const form = $("#decision-form");
  form.reset();
  clearErrors(form);
  form.hidden = !request.decisions.length;
  showReasonField();
}

function decisionError(message) {
  const fieldset = $("#decision-fieldset");
  fieldset.append(el("p", { class: "field-error", id: "decision-apierror", "data-generated": "1" }, message));
  const first = fieldset.querySelector("input[name=decision]");
  if (first) {
    first.setAttribute("aria-invalid", "true");
    first.setAttribute("aria-describedby", "decision-apierror");
    first.focus();
  }
}

// --- the IIN typed from the photo, checked by the server ------------------------

async function checkIin(event) {
  event.preventDefault();
  const form = $("#iin-form");
  const result = $("#iin-result");
  clearErrors(form);
  result.textContent = "";
  result.className = "iin-result";
  const iin = $("#iin-typed").value.replace(/\D/g, "");
  if (iin.length !== 12) { showFieldErrors(form, { iin: "ИИН — 12 цифр." }); return; }
  await busy(form, async () => {
    try {
      const answer = await api.post(`/admin/v1/requests/${encodeURIComponent(state.request.request_id)}/iin-check`, { iin });
      $("#iin-typed").value = "";
      result.classList.add(answer.matches ? "match" : "mismatch");
      result.textContent = `${answer.matches ? "Совпадает с ИИН в анкете." : "Не совпадает с ИИН в анкете."} Осталось сверок: ${answer.attempts_left}.`;
    } catch (error) {
      if (error.status === 429) { result.classList.add("mismatch"); result.textContent = error.message; return; }
      failed(error, form);
    }
  });
}

// --- locks on break-in reports ----------------------------------------------------

function renderLock(request) {
  const form = $("#lock-form");
  const b = request.borrower;
  form.hidden = !(request.type === "compromise" && b && b.account_id);
  if (form.hidden) return;
  form.reset();
  clearErrors(form);
  const locked = b.account_status === "locked";
  const button = $("#lock-button");
  button.textContent = locked ? "Разблокировать учётную запись" : "Заблокировать учётную запись";
  button.className = locked ? "secondary" : "danger";
  form.dataset.action = locked ? "unlock" : "lock";
}

async function lockOrUnlock(event) {
  event.preventDefault();
  const form = $("#lock-form");
  clearErrors(form);
  const reason = $("#lock-reason").value.trim();
  if (reason.length < NOTE_MIN) { showFieldErrors(form, { reason: "Укажите причину (не короче 5 символов)." }); return; }
  const action = form.dataset.action;
  const accountId = state.request.borrower.account_id;
  await busy(form, async () => {
    try {
      await api.post(`/admin/v1/accounts/${encodeURIComponent(accountId)}/${action}`, { reason });
      await openRequest(state.request.request_id);
      announce(action === "lock" ? "Учётная запись заблокирована, сеансы завершены." : "Учётная запись разблокирована.");
    } catch (error) {
      failed(error, form);
    }
  });
}

async function openRequest(requestId) {
  try {
    const request = await api.get(`/admin/v1/requests/${encodeURIComponent(requestId)}`);
    state.request = request;
    $("#review-title").textContent = `${request.type_text}`;
    $("#review-meta").textContent =
      `Заявка ${request.request_id} · ${request.status_text} · подана ${formatDate(request.created_at)} · срок до ${formatDate(request.due_on)}${request.overdue ? " (просрочена)" : ""}`;
    $("#review-borrower").replaceChildren(...pairs(borrowerPairs(request)));
    $("#review-audit").hidden = !request.account_id;
    $("#iin-form").hidden = !(request.borrower && request.borrower.account_id && request.decisions.length);
    $("#iin-form").reset();
    $("#iin-result").textContent = "";
    renderLock(request);
    renderDocuments(request);
    renderDecisionForm(request);
    const done = $("#decision-done");
    done.hidden = Boolean(request.decisions.length);
    $("#decision-done-text").textContent = request.decided_at
      ? `Решение: ${request.status_text}, ${formatDate(request.decided_at)}, ${request.decided_by || ""}.${request.decision_reason ? ` Причина для заёмщика: ${request.decision_reason}` : ""}`
      : "Решение сейчас принять нельзя.";
    show("review");
  } catch (error) {
    failed(error);
  }
}

async function decide(event) {
  event.preventDefault();
  const form = $("#decision-form");
  clearErrors(form);
  const request = state.request;
  const decision = chosenDecision();
  if (!decision) { decisionError("Выберите решение."); return; }
  const body = { decision };
  const note = $("#d-note").value.trim();
  if (note) body.note = note;
  if (decision === "rejected") {
    body.reason_code = $("#d-reason-code").value;
    if (!body.reason_code) { showFieldErrors(form, { reason_code: "Выберите причину отказа из списка." }); return; }
  } else if (note.length < NOTE_MIN) {
    showFieldErrors(form, { note: "Запишите, что проверено (не короче 5 символов): заметка останется в журнале." });
    return;
  }
  if (decision === "approved") {
    const [question, yes] = approvalQuestion(request);
    if (!await confirmDecision(question, yes)) { announce("Решение не принято."); return; }
  }
  await busy(form, async () => {
    try {
      const result = await api.post(`/admin/v1/requests/${encodeURIComponent(request.request_id)}/decision`, body);
      await openRequest(request.request_id);
      $("#decision-done").focus();
      announce(`Решение принято: ${result.status_text}.`);
    } catch (error) {
      failed(error, form);
    }
  });
}

// --- audit ------------------------------------------------------------------

async function loadAudit(accountId, more = false) {
  if (!more) state.auditCursor = null;
  try {
    const page = await api.get(`/admin/v1/audit?${qs({ account_id: accountId, cursor: state.auditCursor })}`);
    const rows = page.items.map((entry) => el("tr", {},
      el("td", {}, formatDate(entry.at)), el("td", { class: "mono" }, entry.actor),
      el("td", {}, entry.action_text || entry.action), el("td", { class: "mono" }, entry.target || "—"),
      el("td", {}, entry.reason || "—"), el("td", {}, entry.note || "—")));
    const body = $("#audit");
    if (more) body.append(...rows);
    else body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "Записей нет."))]));
    state.auditCursor = page.next_cursor;
    $("#audit-more").hidden = !page.next_cursor;
    announce(`Записей журнала: ${$("#audit").children.length}.`);
  } catch (error) {
    failed(error, $("#audit-form"));
  }
}

// --- start ------------------------------------------------------------------

// --- loan desk -------------------------------------------------------------

async function openLoans(more = false) {
  if (!more) state.loansCursor = null;
  try {
    const page = await api.get(`/admin/v1/loan-desk?${qs({ queue: state.loansQueue, cursor: state.loansCursor })}`);
    const list = $("#loans-list");
    const rows = page.items.map(loanRow);
    if (!more) list.replaceChildren(...(rows.length ? rows : [el("li", { class: "empty" }, "Список пуст.")]));
    else list.append(...rows);
    state.loansCursor = page.next_cursor;
    $("#loans-more").hidden = !page.next_cursor;
    if (!more) show("loans");
  } catch (error) {
    failed(error);
  }
}

function loanRow(loan) {
  const path = `/admin/v1/loans/${encodeURIComponent(loan.account_id)}/${encodeURIComponent(loan.loan_id)}`;
  const facts = [
    ["Учётная запись", loan.account_id], ["Сумма", `${loan.amount} ₸ на ${loan.term_days} дн.`],
    ["Подана", formatDate(loan.created_at)], ["Статус", loan.status_text],
  ];
  if (loan.borrower_name) facts.push(["Заёмщик", loan.borrower_name], ["ИИН", loan.borrower_iin]);
  if (loan.payout_iban) facts.push(["Счёт для перечисления", `${loan.payout_iban}${loan.payout_bank ? ` (${loan.payout_bank})` : ""}`]);
  if (loan.due_date) facts.push(["Дата погашения", formatDate(loan.due_date)]);
  if (loan.owed_today) facts.push(["К оплате сегодня", `${loan.owed_today} ₸`], ["Оплачено", `${loan.paid_total} ₸`]);
  if (loan.repayment_details) facts.push(["Код платежа", loan.repayment_details.payment_reference]);
  const item = el("li", {}, el("dl", { class: "pairs" }, ...pairs(facts)));
  if (loan.status === "submitted") {
    item.append(actionForm(`${path}/decision`, "Решение", [
      ["decision", "Решение", "select", [["approve", "Одобрить"], ["reject", "Отклонить"]]],
      ["reason", "Причина (обязательна при отказе)", "text"],
    ], "Принять решение"));
  }
  if (loan.status === "signed") {
    item.append(actionForm(`${path}/payout`, "Перечисление", [
      ["transfer_reference", "Номер платёжного поручения", "text"],
    ], "Займ перечислен"));
  }
  if (loan.status === "issued" || loan.status === "overdue") {
    item.append(actionForm(`${path}/payments`, "Платёж из выписки", [
      ["amount", "Сумма, ₸", "text"], ["paid_on", "Дата платежа", "date"],
      ["bank_reference", "Номер банковского документа", "text"],
      ["kind", "Вид", "select", [["repayment", "Погашение"], ["extension", "Оплата продления"]]],
    ], "Учесть платёж"));
  }
  return item;
}

let formSerial = 0;

function actionForm(path, title, fields, submit) {
  formSerial += 1;
  const form = el("form", { class: "inline", novalidate: true, "aria-label": title },
    ...fields.map(([name, label, type, options]) => {
      const id = `lf-${formSerial}-${name}`;
      const input = type === "select"
        ? el("select", { id, name }, ...options.map(([value, text]) => el("option", { value }, text)))
        : el("input", { id, name, type, autocomplete: "off" });
      return el("div", { class: "field" }, el("label", { for: id }, label), input);
    }),
    el("button", { type: "submit", class: "secondary" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = Object.fromEntries(Object.entries(formValues(form)).filter(([, v]) => v !== ""));
    await busy(form, async () => {
      try {
        await api.post(path, values);
        announce("Готово: действие записано в журнал аудита, заёмщик уведомлён.");
        await openLoans();
      } catch (error) { failed(error, form); }
    });
  });
  return form;
}

function wire() {
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-go]");
    if (!target) return;
    event.preventDefault();
    if (target.dataset.go === "queue") openQueue();
    else if (target.dataset.go === "loans") openLoans();
    else if (target.dataset.go === "staff") loadStaff().then(() => show("staff"), failed);
    else show(target.dataset.go);
  });
  $("#login-form").addEventListener("submit", signIn);
  $("#enrol-form").addEventListener("submit", enrol);
  $("#enrol-done").addEventListener("click", () => { signedOut(); $("#s-password").focus(); });
  $("#staff-form").addEventListener("submit", createMember);
  $("#sign-out").addEventListener("click", signOut);
  $("#queue-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.queueType = $("#queue-type").value;
    openQueue();
  });
  $("#queue-more").addEventListener("click", () => openQueue(true));
  $("#queue-refresh").addEventListener("click", () => openQueue().then(() => announce("Очередь обновлена.")));
  $("#decision-options").addEventListener("change", showReasonField);
  $("#d-reason-code").addEventListener("change", showReasonField);
  $("#decision-next").addEventListener("click", openNext);
  $("#iin-form").addEventListener("submit", checkIin);
  $("#lock-form").addEventListener("submit", lockOrUnlock);
  $("#photo-zoom-in").addEventListener("click", () => viewerStep((v) => ({ scale: v.scale * 1.25 })));
  $("#photo-zoom-out").addEventListener("click", () => viewerStep((v) => ({ scale: v.scale / 1.25 })));
  $("#photo-rotate").addEventListener("click", () => viewerStep((v) => ({ rotation: (v.rotation + 90) % 360 })));
  $("#photo-reset").addEventListener("click", () => viewerStep(() => ({ scale: 1, rotation: 0 })));
  $("#photo-close").addEventListener("click", () => $("#photo-dialog").close());
  $("#loans-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.loansQueue = $("#loans-queue").value;
    openLoans();
  });
  $("#loans-more").addEventListener("click", () => openLoans(true));
  $("#decision-form").addEventListener("submit", decide);
  $("#review-audit").addEventListener("click", () => {
    $("#a-account").value = state.request.account_id;
    show("audit");
    loadAudit(state.request.account_id);
  });
  $("#audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const accountId = $("#a-account").value.trim();
    if (!accountId) { showFieldErrors(form, { account_id: "Укажите учётную запись." }); return; }
    loadAudit(accountId);
  });
  $("#audit-more").addEventListener("click", () => loadAudit($("#a-account").value.trim(), true));
}

async function start() {
  wire();
  const token = new URLSearchParams(location.hash.slice(1)).get("enrol");
  if (token) {
    // Out of the address bar and history at once: the link works only once anyway.
    history.replaceState(null, "", location.pathname);
    state.enrolToken = token;
    setSignedIn(false);
    show("enrol");
    return;
  }
  try {
    await enterDesk();
  } catch {
    signedOut();
  }
}

start();
