/**
 * The candidate link's token.
 *
 * The token arrives only in the URL fragment (`#t=<token>`). It is taken out
 * of the address bar at once (so it is not bookmarked, shared in a screenshot
 * or kept in history) and kept in sessionStorage, which is scoped to this
 * tab, so that a reload can verify the link again and resume, until the
 * interview is over or the link is refused for good (`forgetToken`). It
 * leaves the page only in a POST body (see api.js).
 */

const STORAGE_KEY = "zenhire.candidate.token";
const FRAGMENT_KEY = "t";

/** Move a `#t=` token from the URL into sessionStorage; return the token or null. */
export function takeToken() {
  const fromFragment = tokenInFragment(window.location.hash);
  if (fromFragment !== null) {
    stripFragment();
    store(fromFragment);
    return fromFragment || null;
  }
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Drop the stored token: the interview is over, or the link can never start one. */
export function forgetToken() {
  store("");
}

/** Reload the page when a new link is pasted into this tab (hash change only). */
export function watchForNewLink() {
  window.addEventListener("hashchange", () => {
    const token = tokenInFragment(window.location.hash);
    if (token === null) return;
    stripFragment();
    store(token);
    window.location.reload();
  });
}

function tokenInFragment(hash) {
  if (!hash || hash.length < 2) return null;
  const params = new URLSearchParams(hash.slice(1));
  if (!params.has(FRAGMENT_KEY)) return null;
  return (params.get(FRAGMENT_KEY) || "").trim();
}

function stripFragment() {
  const url = window.location.pathname + window.location.search;
  window.history.replaceState(window.history.state, "", url);
}

function store(token) {
  try {
    if (token) window.sessionStorage.setItem(STORAGE_KEY, token);
    else window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled (private modes); the page still works until a reload.
  }
}
