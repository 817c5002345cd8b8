/**
 * What the candidate reads on each final or problem screen, by code.
 * Tone: calm, plain words, always a next step.
 */

const CONTACT = "If you have questions, please contact the company that invited you.";

/** Screens for the link check (`POST /api/v1/candidate/session` errors). */
export function linkProblem(code, details = {}) {
  switch (code) {
    case "NO_TOKEN":
    case "TOKEN_INVALID":
      return {
        phase: "invalid",
        title: "This interview link isn't valid",
        text: `Please open the link exactly as it appears in your invitation. ${CONTACT}`,
      };
    case "TOKEN_EXPIRED":
      return {
        phase: "invalid",
        title: "This interview link has expired",
        text: "Links are valid for a limited time. Please ask the company that invited you for a new link.",
      };
    case "SESSION_FINISHED":
      return {
        phase: "ended",
        icon: "done",
        title: "This interview has already finished",
        text: `Thank you — there's nothing more to do. Each link can be used for one interview. ${CONTACT}`,
      };
    case "LANGUAGE_UNSUPPORTED":
      return {
        phase: "error",
        title: "This interview isn't available yet",
        text: `Interviews in ${languageName(details.language) || "this language"} are not supported yet. ${CONTACT}`,
      };
    case "CONTROL_PLANE_UNAVAILABLE":
    case "NETWORK":
      return {
        phase: "error",
        title: "We can't reach the interview service",
        text: "Please check your internet connection and try again in a moment.",
        retry: "Try again",
      };
    default:
      return {
        phase: "error",
        title: "Something went wrong",
        text: "We couldn't open your interview. Please try again in a moment.",
        retry: "Try again",
      };
  }
}

/** Screens for the end of an interview (`ended.reason` and the like). */
export function endScreen(reason) {
  switch (reason) {
    case "completed":
      return {
        icon: "done",
        title: "Thank you — your interview is complete",
        text: "Your answers have been shared with the company that invited you. You can close this page now.",
      };
    case "SESSION_TIMEOUT":
      return {
        icon: "done",
        title: "The interview reached its time limit",
        text: "Thank you for your time. Everything you said has been saved and shared with the company that invited you. You can close this page now.",
      };
    case "SESSION_FINISHED":
      return linkProblem("SESSION_FINISHED");
    case "CANDIDATE_INACTIVE":
      return {
        icon: "warn",
        title: "The interview ended because we couldn't hear you",
        text: `We didn't hear anything for a while, so the interview was closed. ${CONTACT}`,
      };
    case "CANDIDATE_LEFT":
      return {
        icon: "warn",
        title: "The interview ended while you were away",
        text: `We couldn't reconnect you in time. ${CONTACT}`,
      };
    case "ENDED_BY_OPERATOR":
      return {
        icon: "warn",
        title: "The interview was ended by the organiser",
        text: CONTACT,
      };
    case "UPSTREAM_UNAVAILABLE":
      return {
        icon: "warn",
        title: "The interviewer is unavailable",
        text: `We're sorry — a problem on our side stopped the interview. What you said so far has been saved. ${CONTACT}`,
      };
    case "GATEWAY_RESTART":
      return {
        icon: "warn",
        title: "The interview was interrupted",
        text: `We're sorry — our service restarted and the interview had to stop. What you said so far has been saved. ${CONTACT}`,
      };
    default:
      return {
        icon: "warn",
        title: "The interview has ended",
        text: `The interview stopped unexpectedly. What you said so far has been saved. ${CONTACT}`,
      };
  }
}

/** Screens when the live connection can't continue. */
export function connectionProblem(code) {
  switch (code) {
    case "SUPERSEDED":
      return {
        title: "Your interview continues in another window",
        text: "The interview was opened in another tab or window, so it moved there. You can close this page, or continue here instead.",
        retry: "Continue here",
      };
    case "FORBIDDEN":
      return {
        title: "We couldn't connect you",
        text: "The interview service refused the connection. Please reload the page and try again.",
        retry: "Try again",
      };
    default:
      return {
        title: "Connection lost",
        text: "We couldn't reconnect to the interview. Check your internet connection, then try again — the interview continues where it left off if you're back soon.",
        retry: "Retry",
      };
  }
}

/** Help for a microphone that can't be used. */
export function microphoneHelp(kind) {
  switch (kind) {
    case "blocked":
      return {
        title: "Microphone access is blocked",
        text: "The interview needs your microphone. To allow it:",
        steps: [
          "Click the lock or settings icon at the left of the address bar.",
          "Set Microphone to Allow for this site.",
          "Press Try again below (you may need to reload the page).",
        ],
      };
    case "missing":
      return {
        title: "No microphone found",
        text: "We couldn't find a microphone on this device.",
        steps: [
          "Connect a headset or microphone, or check that it's switched on.",
          "Press Try again below.",
        ],
      };
    case "unsupported":
      return {
        title: "This browser can't use a microphone here",
        text: "Please open your interview link in an up-to-date Chrome, Edge, Firefox or Safari.",
        steps: [],
      };
    default:
      return {
        title: "Your microphone is busy",
        text: "Your microphone is there, but we couldn't start it.",
        steps: [
          "Close other apps that might be using it (video calls, recorders).",
          "Press Try again below.",
        ],
      };
  }
}

/** A language code as a name in English ("en" → "English"). */
export function languageName(code) {
  if (!code) return "";
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

/**
 * The time budget, in the interview's language (en, es, de, fr; English
 * otherwise): how long the interview takes and, with an accommodation, how
 * much extra time the candidate has.
 */
const DURATION = {
  en: {
    minutes: (n) => `${n} minute${n === 1 ? "" : "s"}`,
    takes: (m) => `The interview takes up to ${m}.`,
    extra: (pct, m) => `You have ${pct}% extra time: up to ${m} in total.`,
  },
  es: {
    minutes: (n) => `${n} minuto${n === 1 ? "" : "s"}`,
    takes: (m) => `La entrevista dura como máximo ${m}.`,
    extra: (pct, m) => `Dispones de un ${pct} % de tiempo adicional: hasta ${m} en total.`,
  },
  de: {
    minutes: (n) => `${n} Minute${n === 1 ? "" : "n"}`,
    takes: (m) => `Das Interview dauert höchstens ${m}.`,
    extra: (pct, m) => `Sie haben ${pct} % mehr Zeit: insgesamt bis zu ${m}.`,
  },
  fr: {
    minutes: (n) => `${n} minute${n === 1 ? "" : "s"}`,
    takes: (m) => `L'entretien dure au maximum ${m}.`,
    extra: (pct, m) => `Vous disposez de ${pct} % de temps supplémentaire : jusqu'à ${m} au total.`,
  },
};

export function durationNote(language, maxDurationSec, extraTimePct) {
  const primary = String(language || "").split(/[-_]/)[0].toLowerCase();
  const words = DURATION[primary] || DURATION.en;
  const minutes = Math.max(1, Math.round(maxDurationSec / 60));
  const span = words.minutes(minutes);
  return {
    takes: words.takes(span),
    extra: extraTimePct > 0 ? words.extra(extraTimePct, span) : "",
  };
}
