// Staff sign-in shared by the staff pages (counter, dashboard, reports).
//
//   import { currentStaff, signIn, signOut, api } from "/static/common/signin.js";
//   const me = await currentStaff();          // null when not signed in
//   await signIn(username, password);         // throws Error(message) when refused
//   const data = await api("GET", url);       // JSON, throws ApiError {status, code, message}

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

// A sign-in form inside `container`; resolves with the staff member once signed in.
export function signInForm(container, { title = "branchq" } = {}) {
  return new Promise((resolve) => {
    container.innerHTML = `
      <form class="signin" autocomplete="on">
        <h1>${title}</h1>
        <label>用户名 Username <input name="username" autocomplete="username" required></label>
        <label>密码 Password <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">登录 Sign in</button>
        <p class="error" role="alert" hidden></p>
      </form>`;
    const form = container.querySelector("form");
    const error = form.querySelector(".error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        const me = await signIn(form.username.value, form.password.value);
        resolve(me);
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    });
  });
}
