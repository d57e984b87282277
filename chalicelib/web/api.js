// The one client of the JSON API used by both pages.
//
// The session lives in an HttpOnly cookie this script cannot read; every request
// says `X-Hava-Client: web` (sign-in then sets the cookie) and every state-changing
// request echoes the readable CSRF cookie in `X-CSRF-Token`. Every request says the
// page's language in `Accept-Language`, so the API's messages come in that language.

import { t, lang } from "./i18n.js";

const SAFE = new Set(["GET", "HEAD"]);

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || t("Что-то пошло не так. Попробуйте ещё раз."));
    this.status = status;
    this.code = (error && error.code) || "error";
    this.fields = (error && error.fields) || {};
  }
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return "";
}

/**
 * API paths are written from the root ("/v1/me") but requested relative to the page,
 * so the pages also work under API Gateway's stage prefix (".../api/").
 */
const relative = (path) => (path.startsWith("/") ? path.slice(1) : path);

/** A client for one side: borrowers (`__Host-hava_csrf`) or staff (`__Host-hava_staff_csrf`). */
export function client({ csrfCookie, onMaintenance, onSignedOut }) {
  async function request(method, path, body) {
    const headers = { "X-Hava-Client": "web", Accept: "application/json", "Accept-Language": lang() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (!SAFE.has(method)) {
      const token = readCookie(csrfCookie);
      if (token) headers["X-CSRF-Token"] = token;
    }
    let response;
    try {
      response = await fetch(relative(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, { code: "network", message: t("Нет связи с сервером. Проверьте интернет и повторите.") });
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (response.ok) return data;
    const error = new ApiError(response.status, data && data.error);
    if (response.status === 503 && error.code === "maintenance" && onMaintenance) onMaintenance(error);
    if (response.status === 401 && error.code === "unauthenticated" && onSignedOut) onSignedOut(error);
    throw error;
  }
  return {
    get: (path) => request("GET", path),
    post: (path, body = {}) => request("POST", path, body),
    put: (path, body = {}) => request("PUT", path, body),
    del: (path) => request("DELETE", path),
    /** A GET whose answer is saved as a file (no personal data in any URL). */
    async download(path, filename) {
      const data = await request("GET", path);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    },
  };
}

/**
 * POST a file to a presigned S3 form (fields as given, then Content-Type, then the file),
 * reporting progress; resolves when the bucket accepted it.
 */
export function uploadToBucket(form, file, onProgress) {
  return new Promise((resolve, reject) => {
    // One form per accepted type: its policy fixes the Content-Type the bucket stores.
    const fields = form.fields_by_type && form.fields_by_type[file.type];
    if (!fields) {
      reject(new Error("unsupported type"));
      return;
    }
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) data.append(name, value);
    data.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new Error(`upload failed: ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new Error("upload failed")));
    xhr.send(data);
  });
}
