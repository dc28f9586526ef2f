// Staff sign-in shared by the staff pages (counter, dashboard, reports).
//
//   import { currentStaff, signIn, signOut, api } from "/static/common/signin.js";
//   const me = await currentStaff();          // null when not signed in
//   await signIn(username, password);         // throws Error(message) when refused
//   const data = await api("GET", url);       // JSON, throws ApiError {status, code, message}

import { applyWords, errorText } from "/static/common/i18n.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, url, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new ApiError(0, "offline", "the server cannot be reached");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "http_" + response.status,
      error.message || response.statusText);
  }
  return data;
}

export async function currentStaff() {
  try {
    return await api("GET", "/api/v1/auth/me");
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function signIn(username, password) {
  return api("POST", "/api/v1/auth/login", { username, password });
}

export async function signOut() {
  return api("POST", "/api/v1/auth/logout");
}

// A sign-in form inside `container`, in `lang` (i18n.js); resolves with the staff member once signed in.
export function signInForm(container, { title = "branchq", lang = "zh-CN" } = {}) {
  return new Promise((resolve) => {
    container.innerHTML = `
      <form class="signin" autocomplete="on">
        <h1></h1>
        <label><span data-t="common.username"></span> <input name="username" autocomplete="username" required></label>
        <label><span data-t="common.password"></span> <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit" data-t="common.sign_in"></button>
        <p class="error" role="alert" hidden></p>
      </form>`;
    const form = container.querySelector("form");
    form.querySelector("h1").textContent = title;
    applyWords(lang, { root: form });
    const error = form.querySelector(".error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        const me = await signIn(form.username.value, form.password.value);
        resolve(me);
      } catch (e) {
        error.textContent = errorText(lang, e);
        error.hidden = false;
      }
    });
  });
}
