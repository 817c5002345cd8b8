"""Erasure of a session's artifacts, on request and by retention.

- `endpoints`: ``DELETE /sessions/{id}/artifacts`` (202 and a deletion id),
  ``GET /deletions/{id}``, and the retention chore `endpoints.retire_due`.
- `deletions`: deletion records and their receipts in SQLite.
- `eraser`: the worker that has the gateway delete the artifacts over signed
  S2S (``DELETE /s2s/v1/sessions/{id}/artifacts``, docs/s2s.md), completes the
  receipt and fires ``session.artifacts_deleted``.

From the request on, the results endpoints answer ``410 ARTIFACT_DELETED``.
"""
