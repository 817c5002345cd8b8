/**
 * The gateway's candidate HTTP API (docs/candidate-protocol.md, sections 1, 2 and 4).
 *
 * Every call is a same-origin JSON POST; the token travels only in the body.
 * Failures reject with `ApiError`: `status` is the HTTP status (0 when the
 * request never got an answer) and `code` the protocol's error code.
 */

const SESSION_PATH = "/api/v1/candidate/session";
const CONSENT_PATH = "/api/v1/candidate/consent";
const OFFER_PATH = "/api/v1/candidate/webrtc/offer";
const READINESS_PATH = "/api/v1/candidate/readiness";
const READINESS_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** True for failures worth retrying as they are (network, 5xx). */
  get transient() {
    return this.status === 0 || this.status >= 500;
  }
}

/** Verify the link: `{ticket, session, consent}`. */
export function openSession(token) {
  return post(SESSION_PATH, { token });
}

/** Record explicit consent to the text of `version`: `{accepted_at, text_version}`. */
export function recordConsent(ticket, version) {
  return post(CONSENT_PATH, { ticket, accepted: true, text_version: version });
}

/** Record the readiness check's results (never audio): `{recorded_at, echo_path}`. */
export function recordReadiness(ticket, readiness) {
  return post(READINESS_PATH, { ticket, readiness }, READINESS_TIMEOUT_MS);
}

/** Send a complete (non-trickle) WebRTC offer: `{sdp, type: "answer"}`. */
export function sendOffer(ticket, sdp, timeoutMs = REQUEST_TIMEOUT_MS) {
  return post(OFFER_PATH, { ticket, sdp, type: "offer" }, timeoutMs);
}

async function post(path, body, timeoutMs = REQUEST_TIMEOUT_MS) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
      referrerPolicy: "no-referrer",
      signal: controller.signal,
    });
  } catch (err) {
    throw new ApiError(0, "NETWORK", "The interview service could not be reached.", { cause: String(err) });
  } finally {
    clearTimeout(timer);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok && payload && typeof payload === "object") return payload;
  const error = payload && typeof payload.error === "object" && payload.error ? payload.error : {};
  throw new ApiError(
    response.status,
    typeof error.code === "string" ? error.code : `HTTP_${response.status}`,
    typeof error.message === "string" ? error.message : "Unexpected answer from the interview service.",
    typeof error.details === "object" && error.details ? error.details : {},
  );
}
