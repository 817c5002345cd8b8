"""The consent text shown to candidates when ``consent_mode`` is ``explicit``.

Its version is recorded with each consent, so a transcript says exactly
which words the candidate agreed to.
"""

CONSENT_VERSION = "2026-11-v1"
CONSENT_TEXT = (
    "This interview is conducted by an AI interviewer. Your voice is recorded and "
    "transcribed, and the recording and transcript are shared with the company that "
    "invited you, to evaluate your application. You can end the interview at any time."
)
