"""Integrator webhooks per the Standard Webhooks specification.

- `endpoints`: ``/webhooks`` — register, list, remove, rotate the secret,
  list deliveries and retry one.
- `outbox`: the endpoints and their deliveries in SQLite; `Outbox.enqueue`
  records an event for every endpoint that takes it, in the caller's
  transaction.
- `dispatcher`: the worker that posts due deliveries, signed (`signature`),
  to checked destinations (`destination`), retried per `retry.RetryPolicy`.
"""
