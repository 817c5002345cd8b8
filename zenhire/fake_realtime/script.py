"""What is said in a fake interview: the interviewer's lines and the candidate's transcripts.

The interviewer greets and asks the first question, asks one question per
answer, and after `Cues.questions` answers, or once a system item asks it to
wrap up, says `CLOSING` and calls the `END_TOOL` function. When the client
offers an `ASK_TOOL` listing question ids, the interviewer calls it with the
next id before it asks each question (`question_index`).
"""

from __future__ import annotations

from typing import Any

from zenhire.fake_realtime.conversation import text_of

END_TOOL = "end_interview"
ASK_TOOL = "ask_question"
GREETING = "Hello, and welcome to this interview. Let us begin."
QUESTIONS = (
    "Tell me about a project you are proud of.",
    "How do you handle a production incident?",
    "What do you look for in a code review?",
    "Describe a hard technical decision you made.",
    "How do you keep learning?",
)
CLOSING = "Thank you for your answers. This concludes our interview. Goodbye."
WRAP_UP_WORDS = "wrap up"


def next_words(items: list[dict[str, Any]], questions: int) -> tuple[str, bool]:
    """What to say next in the conversation ``items``, and whether to end the interview after it."""
    messages = [item for item in items if item.get("type") == "message"]
    answers = sum(1 for item in messages if item.get("role") == "user")
    asked = any(item.get("role") == "assistant" for item in messages)
    wrap = any(
        item.get("role") == "system" and WRAP_UP_WORDS in text_of(item).lower() for item in messages
    )
    if wrap or answers >= questions:
        return CLOSING, True
    if not asked:
        return f"{GREETING} {QUESTIONS[0]}", False
    return QUESTIONS[min(answers, len(QUESTIONS) - 1)], False


def question_index(items: list[dict[str, Any]]) -> int:
    """Which question the next line asks: one per answer so far."""
    return sum(1 for item in items if item.get("type") == "message" and item.get("role") == "user")


def placeholder_transcript(answer: int, seconds: float) -> str:
    """What the fake "hears" in answer number ``answer``, which lasted ``seconds``."""
    return f"My answer number {answer} took {seconds:.1f} seconds."
