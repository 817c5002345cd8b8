"""The integrator's webhook endpoints under ``/api/v1/interview/webhooks``.

``POST /webhooks`` registers a URL and returns its ``whsec_`` secret (shown
only then); ``GET`` lists the client's endpoints; ``DELETE /webhooks/{id}``
removes one; ``POST /webhooks/{id}/rotate-secret`` issues a new secret while
the old one keeps signing for the overlap; ``GET /webhooks/{id}/deliveries``
lists deliveries with their attempts, newest first, cursor-paginated; and
``POST /webhooks/{id}/deliveries/{delivery_id}/retry`` makes one due again.
Another client's endpoint is ``403 FORBIDDEN``, an unknown one ``404``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.access import authenticate
from controlplane.clock import format_timestamp, utc_now
from controlplane.errors import DestinationRefused, Forbidden, NotFound, ValidationFailed
from controlplane.pagination import decode_cursor, encode_cursor, limit_of
from controlplane.payloads import WEBHOOK, decode
from controlplane.records import Client
from controlplane.resources import Resources, resources_of
from controlplane.webhooks import destination, signature
from controlplane.webhooks.outbox import ALL_EVENTS, Delivery, Webhook

DELIVERIES_CURSOR = "deliveries"


class Webhooks(HTTPEndpoint):
    """``/webhooks``: POST registers an endpoint, GET lists the client's."""

    async def post(self, request: Request) -> Response:
        return await create_webhook(request)

    async def get(self, request: Request) -> Response:
        return await list_webhooks(request)


async def create_webhook(request: Request) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    body = decode(await request.body(), WEBHOOK)
    allow_private = resources.settings.webhooks_allow_private
    try:
        await destination.check(body.url, allow_private=allow_private, resolve=True)
    except DestinationRefused as exc:
        raise ValidationFailed(
            f"url: {exc}", {"errors": [{"field": "url", "message": str(exc)}]}
        ) from exc
    events = tuple(dict.fromkeys(body.events)) if body.events else ALL_EVENTS
    webhook = Webhook(
        id=str(uuid.uuid4()),
        client_id=client.id,
        url=body.url,
        events=events,
        description=body.description,
        secret=signature.new_secret(),
        previous_secret=None,
        previous_secret_until=None,
        created_at=format_timestamp(utc_now()),
    )
    resources.outbox.add(webhook)
    return JSONResponse({**webhook_json(webhook), "secret": webhook.secret}, status_code=201)


async def list_webhooks(request: Request) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    return JSONResponse(
        {"data": [webhook_json(w) for w in resources.outbox.webhooks_of(client.id)]}
    )


async def delete_webhook(request: Request) -> Response:
    resources = resources_of(request)
    webhook = _owned(resources, authenticate(request, resources.store), request)
    resources.outbox.remove(webhook.id)
    return Response(status_code=204)


async def rotate_secret(request: Request) -> Response:
    """A new secret; the old one also signs until ``previous_secret_expires_at``."""
    resources = resources_of(request)
    webhook = _owned(resources, authenticate(request, resources.store), request)
    secret = signature.new_secret()
    overlap = timedelta(seconds=resources.settings.webhook_secret_overlap_sec)
    until = format_timestamp(utc_now() + overlap)
    resources.outbox.rotate(webhook.id, secret, webhook.secret, until)
    return JSONResponse({"id": webhook.id, "secret": secret, "previous_secret_expires_at": until})


async def list_deliveries(request: Request) -> Response:
    resources = resources_of(request)
    webhook = _owned(resources, authenticate(request, resources.store), request)
    limit = limit_of(request.query_params)
    cursor = decode_cursor(request.query_params, DELIVERIES_CURSOR, (int,))
    before = None if cursor is None else int(cursor[0])
    page = resources.outbox.deliveries_of(webhook.id, before, limit + 1)
    more, page = len(page) > limit, page[:limit]
    return JSONResponse(
        {
            "data": [delivery_json(resources, d) for d in page],
            "next_cursor": encode_cursor(DELIVERIES_CURSOR, [page[-1].seq]) if more else None,
        }
    )


async def retry_delivery(request: Request) -> Response:
    resources = resources_of(request)
    webhook = _owned(resources, authenticate(request, resources.store), request)
    delivery = resources.outbox.delivery(request.path_params["delivery_id"])
    if delivery is None or delivery.webhook_id != webhook.id:
        raise NotFound("Delivery not found.")
    resources.outbox.retry(delivery.id, format_timestamp(utc_now()))
    resources.dispatcher.wake()
    retried = resources.outbox.delivery(delivery.id)
    assert retried is not None
    return JSONResponse(delivery_json(resources, retried), status_code=202)


def _owned(resources: Resources, client: Client, request: Request) -> Webhook:
    webhook = resources.outbox.webhook(request.path_params["webhook_id"])
    if webhook is None:
        raise NotFound("Webhook not found.")
    if webhook.client_id != client.id:
        raise Forbidden("This webhook belongs to another client.")
    return webhook


def webhook_json(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events),
        "description": webhook.description,
        "created_at": webhook.created_at,
    }


def delivery_json(resources: Resources, delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_type": delivery.event_type,
        "session_id": delivery.session_id,
        "status": delivery.status.value,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "attempts": [
            {
                "number": attempt.number,
                "attempted_at": attempt.attempted_at,
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            }
            for attempt in resources.outbox.attempts_of(delivery.id)
        ],
    }


def routes() -> list[BaseRoute]:
    """The webhook routes, relative to ``/api/v1/interview``."""
    return [
        Route("/webhooks", Webhooks),
        Route("/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
        Route("/webhooks/{webhook_id}/rotate-secret", rotate_secret, methods=["POST"]),
        Route("/webhooks/{webhook_id}/deliveries", list_deliveries, methods=["GET"]),
        Route(
            "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
            retry_delivery,
            methods=["POST"],
        ),
    ]
