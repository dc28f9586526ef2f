/**
 * A device page's token (kiosk, display, evaluator): given once as ?token=… in the URL,
 * kept in localStorage, and taken out of the address bar so it is not left on screen, in
 * bookmarks or in the history.
 *
 *   import { deviceToken } from '/static/common/device.js';
 *   const token = deviceToken('display');   // null when the device was never given one
 *
 * Tokens are kept per kind, so one browser can hold a kiosk's and a display's token.
 *
 * A new device is enrolled with a one-time code from the admin page instead: opened once with
 * ?code=XXXX-XXXX, the page trades the code for a token and keeps that in the same way:
 *
 *   const token = await deviceTokenOrEnroll('display', { onProblem: (message) => show(message) });
 *
 * A device left without a token (never enrolled, or its code refused) also gets an enrollment
 * panel where the code can be typed instead; once it is accepted the page reloads with the token.
 */
import { both, errorText, pageLanguage } from '/static/common/i18n.js';

const PREFIX = 'branchq.token.';

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the token lives as long as the page
  }
}

/** The device token for `kind`: from ?token= (then stored and removed from the URL), else stored. */
export function deviceToken(kind, location = window.location) {
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  const store = storage();
  if (given) {
    store?.setItem(PREFIX + kind, given);
    dropParam(url, 'token');
    return given;
  }
  return store?.getItem(PREFIX + kind) ?? null;
}

/**
 * The device token for `kind`, enrolling first when the URL carries ?code=… (a one-time code
 * from the admin page): the code is exchanged at POST /api/v1/devices/enroll, the token kept
 * like a ?token= one, and the code taken out of the address bar. A refused code (used, expired,
 * unknown, or for another kind of device) is given to `onProblem` with the server's message;
 * the result is then the token stored before, if any, else null.
 */
export async function deviceTokenOrEnroll(kind, options = {}) {
  const token = await tokenOrEnroll(kind, options);
  if (!token) enrollmentPanel(kind);
  return token;
}

async function tokenOrEnroll(kind, { onProblem = () => {}, location = window.location } = {}) {
  const url = new URL(location.href);
  const code = url.searchParams.get('code');
  if (!code) return deviceToken(kind, location);
  let answer;
  try {
    answer = await enroll(code);
  } catch (problem) {
    // Not refused, just not answered: the code stays in the URL, so a reload tries it again.
    if (!problem.retry) dropParam(url, 'code');
    onProblem(problem.message);
    return deviceToken(kind, location);
  }
  dropParam(url, 'code');
  storage()?.setItem(PREFIX + answer.device.kind, answer.token);
  if (answer.device.kind !== kind) {
    const other = answer.device.kind;
    onProblem(both(pageLanguage(), 'enroll.wrong_kind', { other, kind }));
    return deviceToken(kind, location);
  }
  return answer.token;
}

async function enroll(code) {
  let response;
  try {
    response = await fetch('/api/v1/devices/enroll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code }),
    });
  } catch {
    throw { retry: true, code: 'offline', message: 'the server cannot be reached to enroll this device' };
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok || !answer?.token) {
    const retry = response.status >= 500 || response.status === 429;
    throw { retry, code: answer?.error?.code, message: answer?.error?.message ?? `enrollment refused (${response.status})` };
  }
  return answer;
}

/**
 * The enrollment screen's code entry: a panel at the foot of a device page that has no token.
 * An accepted code keeps the token and reloads the page; a refused one says why, in place.
 */
function enrollmentPanel(kind) {
  const lang = pageLanguage();
  const panel = document.createElement('form');
  panel.id = 'enroll-panel';
  panel.setAttribute('aria-label', both(lang, 'enroll.title'));
  panel.style.cssText = 'position:fixed;left:0;right:0;bottom:0;z-index:1000;display:flex;flex-wrap:wrap;gap:10px;'
    + 'align-items:center;justify-content:center;padding:14px;background:#14213d;color:#fff;font:18px/1.4 system-ui,sans-serif';
  panel.innerHTML = `<label><span></span> <input name="code" autocomplete="off" autocapitalize="characters"
      spellcheck="false" required style="font:inherit;padding:6px 10px;width:12em"></label>
    <button type="submit" style="font:inherit;padding:6px 16px"></button>
    <output role="alert" style="flex-basis:100%;text-align:center;color:#ffd7d7" hidden></output>`;
  panel.querySelector('span').textContent = both(lang, 'enroll.prompt');
  panel.querySelector('button').textContent = both(lang, 'enroll.submit');
  const problem = panel.querySelector('output');
  panel.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    try {
      const answer = await enroll(panel.code.value.trim());
      storage()?.setItem(PREFIX + answer.device.kind, answer.token);
      if (answer.device.kind !== kind) {
        problem.textContent = both(lang, 'enroll.wrong_kind', { other: answer.device.kind, kind });
        problem.hidden = false;
        return;
      }
      window.location.reload();
    } catch (e) {
      problem.textContent = errorText(lang, e);
      problem.hidden = false;
    }
  });
  document.body.append(panel);
}

function dropParam(url, name) {
  url.searchParams.delete(name);
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

/** Forget the stored token of `kind` (a revoked device shows the refusal and waits for a new URL). */
export function forgetToken(kind) {
  storage()?.removeItem(PREFIX + kind);
}
