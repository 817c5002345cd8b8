"""The candidate's rating of the interview: a score of 1 to 5 and an optional comment.

The page sends ``{"type": "rating", "score": 4, "comment": "…"}`` (or
``{"type": "rating", "skipped": true}``) on the live connection during the
rating window that follows ``ended``. `parse_rating` checks it strictly: a
wrong score, an over-long comment or an unknown field is a `RatingInvalid`
naming the field, and the window stays open for a corrected one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_SCORE = 1
MAX_SCORE = 5
MAX_COMMENT_CHARS = 1000
FIELDS = frozenset({"type", "score", "comment", "skipped"})


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str | None
    rated_at: str

    def as_json(self) -> dict[str, Any]:
        """The rating as the transcript document and the S2S terminal event carry it."""
        return {"score": self.score, "comment": self.comment, "rated_at": self.rated_at}


class RatingInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_rating(message: dict[str, Any], rated_at: str) -> Rating | None:
    """The rating in a ``rating`` message, or None when the candidate skipped it."""
    unknown = sorted(set(message) - FIELDS)
    if unknown:
        raise RatingInvalid(unknown[0], "unknown field")
    skipped = message.get("skipped", False)
    if type(skipped) is not bool:
        raise RatingInvalid("skipped", "must be true or false")
    if skipped:
        if "score" in message or "comment" in message:
            raise RatingInvalid("skipped", "a skipped rating has no score or comment")
        return None
    score = message.get("score")
    if type(score) is not int or not MIN_SCORE <= score <= MAX_SCORE:
        raise RatingInvalid("score", f"must be a whole number from {MIN_SCORE} to {MAX_SCORE}")
    comment = message.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise RatingInvalid("comment", "must be text")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise RatingInvalid("comment", f"must be at most {MAX_COMMENT_CHARS} characters")
    return Rating(score, comment or None, rated_at)
