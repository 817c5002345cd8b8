"""The ``zenhire`` command line: a stable contract for scripts and operators.

    zenhire dev                          everything on loopback, embedded defaults
    zenhire dev --replicas 2             two gateway replicas behind Caddy, Redis and S3
    zenhire gateway serve                the candidate-side gateway alone
    zenhire gateway outbox list|redrive  S2S events never accepted: list, send again
    zenhire controlplane serve           the reference control plane alone
    zenhire controlplane create-client   a client with an API key (JSON on stdout)
    zenhire controlplane create-key      another API key of a client (JSON on stdout)
    zenhire controlplane revoke-key      disable an API key at once (JSON on stdout)
    zenhire bench                        the load benchmark (`zenhire.bench`)

Every service reads its settings from ``ZENHIRE_*`` environment variables
(README.md lists them); a bad value stops start-up with a message naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import uvicorn

from controlplane.errors import ConfigError as ControlPlaneConfigError
from gateway.errors import ConfigError as GatewayConfigError
from zenhire.bench.command import add_arguments as add_bench_arguments
from zenhire.environment import SettingError

if TYPE_CHECKING:
    from gateway.s2s.dead_letters import DeadLetterBox

# Candidate frames are 960 bytes; nothing a client legitimately sends comes near this.
WS_MAX_MESSAGE_BYTES = 64 * 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except (GatewayConfigError, ControlPlaneConfigError, SettingError) as exc:
        print(f"zenhire: configuration error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"zenhire: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zenhire", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="command")

    dev = commands.add_parser("dev", help="run the control plane and the gateway on loopback")
    dev.add_argument(
        "--replicas",
        type=int,
        default=0,
        metavar="N",
        help="N gateway replicas behind Caddy, with Redis and an S3 store (scripts/replicas)",
    )
    dev.set_defaults(run=_dev)

    gateway = commands.add_parser("gateway", help="the candidate-side gateway")
    gateway_commands = gateway.add_subparsers(required=True, metavar="action")
    gateway_commands.add_parser("serve", help="serve the gateway").set_defaults(run=_serve_gateway)
    outbox = gateway_commands.add_parser(
        "outbox", help="S2S events never accepted (dead letters): list or send again"
    )
    outbox_commands = outbox.add_subparsers(required=True, metavar="action")
    outbox_commands.add_parser("list", help="the dead letters, as JSON lines").set_defaults(
        run=_outbox_list
    )
    redrive = outbox_commands.add_parser("redrive", help="make dead letters pending again")
    chosen = redrive.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--event-id", action="append", dest="event_ids", metavar="ID")
    chosen.add_argument("--all", action="store_true")
    redrive.set_defaults(run=_outbox_redrive)

    controlplane = commands.add_parser("controlplane", help="the reference control plane")
    cp_commands = controlplane.add_subparsers(required=True, metavar="action")
    cp_commands.add_parser("serve", help="serve the control plane").set_defaults(
        run=_serve_controlplane
    )
    create = cp_commands.add_parser("create-client", help="create a client and its API key")
    create.add_argument("--name", required=True)
    create.add_argument("--credits", type=int, default=1000)
    create.add_argument("--max-concurrent", type=int, default=2)
    create.add_argument("--max-duration-sec", type=int, default=1800)
    create.add_argument(
        "--retention-days",
        type=int,
        default=None,
        help="erase the client's artifacts this many days after the interview (default: keep)",
    )
    create.add_argument(
        "--no-interview-permission", dest="interview_permission", action="store_false"
    )
    create.add_argument("--project", default=None, help="the first key's project (default: none)")
    create.set_defaults(run=_create_client)
    key = cp_commands.add_parser("create-key", help="another API key of an existing client")
    key.add_argument("--client", required=True, help="the client's id")
    key.add_argument("--project", default=None, help="the key's project (default: none)")
    key.set_defaults(run=_create_key)
    revoke = cp_commands.add_parser("revoke-key", help="disable an API key at once")
    revoke.add_argument("--key-id", required=True)
    revoke.set_defaults(run=_revoke_key)

    bench = commands.add_parser("bench", help="measure the gateway's cost per live interview")
    add_bench_arguments(bench)
    bench.set_defaults(run=_bench)
    return parser


def _serve_gateway(args: argparse.Namespace) -> int:
    from gateway.app import create_app
    from gateway.listeners import sockets
    from gateway.logs import configure_logging
    from gateway.ops.drain import DrainingServer
    from gateway.settings import Settings

    settings = Settings.from_env(os.environ)
    configure_logging()
    proxies = settings.edge.forwarded_allow_ips
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        log_level="warning",
        # X-Forwarded-For names the client only on a connection from a listed proxy;
        # from anyone else it is ignored, so a client cannot choose its own address.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=list(proxies),
    )
    # One server, one process: the public listener and, if set, the internal one.
    # SIGTERM drains first (gateway.ops.drain): live interviews move to other replicas.
    server = DrainingServer(
        config, lambda: app.state.drain() if "drain" in app.state._state else None
    )
    server.run(sockets=sockets(settings))
    return 0


def _dead_letters() -> list[DeadLetterBox]:
    from gateway.s2s.dead_letters import dead_letter_boxes
    from gateway.settings import Settings

    return dead_letter_boxes(Settings.from_env(os.environ))


def _outbox_list(args: argparse.Namespace) -> int:
    from gateway.errors import StateStoreUnavailable

    try:
        letters = [letter for box in _dead_letters() for letter in box.letters()]
    except StateStoreUnavailable as exc:
        print(f"zenhire: {exc}", file=sys.stderr)
        return 1
    for letter in letters:
        print(json.dumps(dataclasses.asdict(letter)))
    return 0


def _outbox_redrive(args: argparse.Namespace) -> int:
    from gateway.errors import StateStoreUnavailable

    chosen = None if args.all else list(args.event_ids)
    try:
        count = sum(box.redrive(chosen) for box in _dead_letters())
    except StateStoreUnavailable as exc:
        print(f"zenhire: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"redriven": count}))
    return 0


def _serve_controlplane(args: argparse.Namespace) -> int:
    from controlplane.app import create_app
    from controlplane.settings import Settings
    from gateway.logs import configure_logging

    settings = Settings.from_env(os.environ)
    configure_logging()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
    return 0


def _create_client(args: argparse.Namespace) -> int:
    from controlplane.admin import create_client
    from controlplane.settings import Settings

    settings = Settings.from_env(os.environ)
    return _print_result(
        lambda: create_client(
            settings,
            name=args.name,
            credits=args.credits,
            max_concurrent=args.max_concurrent,
            max_duration_sec=args.max_duration_sec,
            interview_permission=args.interview_permission,
            retention_days=args.retention_days,
            project=args.project,
        )
    )


def _create_key(args: argparse.Namespace) -> int:
    from controlplane.admin import create_key
    from controlplane.settings import Settings

    settings = Settings.from_env(os.environ)
    return _print_result(lambda: create_key(settings, client_id=args.client, project=args.project))


def _revoke_key(args: argparse.Namespace) -> int:
    from controlplane.admin import revoke_key
    from controlplane.settings import Settings

    settings = Settings.from_env(os.environ)
    return _print_result(lambda: revoke_key(settings, key_id=args.key_id))


def _print_result(action: Callable[[], dict[str, object]]) -> int:
    """Print what an admin action returns as one JSON object; exit 2 on its `ValueError`."""
    try:
        result = action()
    except ValueError as exc:
        print(f"zenhire: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from zenhire.bench.command import run

    return run(args)


def _dev(args: argparse.Namespace) -> int:
    if args.replicas:
        from zenhire.dev_replicas import run_replicas

        asyncio.run(run_replicas(os.environ, args.replicas))
        return 0
    from zenhire.dev import run_dev

    asyncio.run(run_dev(os.environ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
