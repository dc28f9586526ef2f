/**
 * A device page's token (kiosk, display, evaluator): given once as ?token=… in the URL,
 * kept in localStorage, and taken out of the address bar so it is not left on screen, in
 * bookmarks or in the history.
 *
 *   import { deviceToken } from '/static/common/device.js';
 *   const token = deviceToken('display');   // null when the device was never given one
 *
 * Tokens are kept per kind, so one browser can hold a kiosk's and a display's token.
 */

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
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return given;
  }
  return store?.getItem(PREFIX + kind) ?? null;
}

/** Forget the stored token of `kind` (a revoked device shows the refusal and waits for a new URL). */
export function forgetToken(kind) {
  storage()?.removeItem(PREFIX + kind);
}
