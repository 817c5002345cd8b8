"""API keys and projects: a key's project goes on the sessions it starts; keys of one
client share its sessions, never another client's; a revoked key is refused at once."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from controlplane.admin import create_key, revoke_key
from tests.controlplane.harness import (
    Platform,
    Receiver,
    assert_error,
    running_platform,
)
from zenhire.cli import main


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any] | str]:
    """Run ``zenhire controlplane …``: the exit code and its JSON (or its error text)."""
    code = main(["controlplane", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else err)


def test_keys_are_made_with_and_without_a_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENHIRE_DATA_DIR", str(tmp_path))
    code, client = cli(capsys, "create-client", "--name", "Acme", "--project", "Hiring")
    assert code == 0 and isinstance(client, dict)
    assert client["api_key"].startswith("zh_api_") and client["key_id"]
    hiring = client["project_id"]
    assert isinstance(hiring, str)

    code, plain = cli(capsys, "create-key", "--client", client["client_id"])
    assert code == 0 and isinstance(plain, dict)
    assert plain.keys() == {"key_id", "api_key", "project_id"}
    assert plain["project_id"] is None and plain["api_key"] != client["api_key"]

    _, same = cli(capsys, "create-key", "--client", client["client_id"], "--project", " Hiring ")
    _, other = cli(capsys, "create-key", "--client", client["client_id"], "--project", "Sales")
    assert isinstance(same, dict) and isinstance(other, dict)
    assert same["project_id"] == hiring
    assert other["project_id"] not in (None, hiring)

    code, bare = cli(capsys, "create-client", "--name", "Bare")
    assert code == 0 and isinstance(bare, dict) and bare["project_id"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create-key", "--client", "no-such-client"], "no client"),
        (["create-key", "--client", "{client}", "--project", "  "], "must not be empty"),
        (["create-key", "--client", "{client}", "--project", "x" * 101], "exceeds 100"),
        (["create-client", "--name", "Acme", "--project", ""], "must not be empty"),
        (["revoke-key", "--key-id", "no-such-key"], "no API key"),
    ],
)
def test_bad_key_commands_exit_2_with_a_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("ZENHIRE_DATA_DIR", str(tmp_path))
    _, client = cli(capsys, "create-client", "--name", "Acme")
    assert isinstance(client, dict)
    code, err = cli(capsys, *(arg.format(client=client["client_id"]) for arg in argv))
    assert code == 2 and message in str(err)


async def start_with(platform: Platform, key: str) -> str:
    session_id, _ = await platform.start(await platform.persona(key=key), key=key)
    return session_id


async def test_a_session_takes_the_project_of_its_key(tmp_path: Path) -> None:
    async with running_platform(tmp_path, client={"project": "Hiring"}) as platform:
        plain = create_key(platform.settings, client_id=platform.client_id)
        hiring_session = await platform.start()
        plain_session = await start_with(platform, str(plain["api_key"]))

        hiring = (await platform.session(hiring_session[0]))["project_id"]
        assert isinstance(hiring, str)
        assert (await platform.session(plain_session))["project_id"] is None

        listed = await platform.ok("GET", "/sessions")
        assert {s["id"]: s["project_id"] for s in listed["data"]} == {
            hiring_session[0]: hiring,
            plain_session: None,
        }
        only = await platform.ok("GET", "/sessions", params={"project_id": hiring})
        assert [s["id"] for s in only["data"]] == [hiring_session[0]]
        none = await platform.ok("GET", "/sessions", params={"project_id": "no-such-project"})
        assert none["data"] == []


async def test_a_reinvited_session_keeps_its_project(tmp_path: Path) -> None:
    async with running_platform(tmp_path, client={"project": "Hiring"}) as platform:
        session_id, _ = await platform.start()
        project = (await platform.session(session_id))["project_id"]
        await platform.ok("POST", f"/sessions/{session_id}/revoke")
        plain = str(create_key(platform.settings, client_id=platform.client_id)["api_key"])
        again = await platform.ok("POST", f"/sessions/{session_id}/reinvite", 201, key=plain)
        assert (await platform.session(again["session_id"]))["project_id"] == project


@pytest.mark.parametrize("value", ["p-1", None, 42, {"id": "p-1"}])
@pytest.mark.attack(
    "project id smuggled in a body", injected="project_id set by the caller", happened="400"
)
async def test_a_project_id_in_the_body_is_refused(tmp_path: Path, value: object) -> None:
    async with running_platform(tmp_path) as platform:
        persona_id = await platform.persona()
        body = {"consent_mode": "integrator", "project_id": value}
        response = await platform.call("POST", f"/personas/{persona_id}/sessions", json=body)
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert "project selection is console-only" in error["message"]
        assert error["details"]["errors"][0]["field"] == "project_id"
        assert (await platform.ok("GET", "/sessions"))["data"] == []


async def test_keys_of_one_client_see_each_others_sessions(tmp_path: Path) -> None:
    async with running_platform(tmp_path, client={"project": "Hiring"}) as platform:
        sales = str(
            create_key(platform.settings, client_id=platform.client_id, project="Sales")["api_key"]
        )
        session_id, _ = await platform.start()
        seen = await platform.ok("GET", f"/sessions/{session_id}", key=sales)
        assert seen == await platform.session(session_id)
        listed = await platform.ok("GET", "/sessions", key=sales)
        assert [s["id"] for s in listed["data"]] == [session_id]


@pytest.mark.attack(
    "cross-tenant access",
    injected="client B's key on client A's session",
    happened="403/404, nothing shown",
)
async def test_a_second_clients_key_is_refused(tmp_path: Path) -> None:
    async with running_platform(tmp_path, client={"project": "Hiring"}) as platform:
        session_id, _ = await platform.start()
        project = (await platform.session(session_id))["project_id"]
        other = platform.other_client(project="Hiring")
        for path in (f"/sessions/{session_id}", f"/sessions/{session_id}/recording"):
            assert_error(await platform.call("GET", path, key=other), 403, "FORBIDDEN")
        listed = await platform.ok("GET", "/sessions", key=other, params={"project_id": project})
        assert listed["data"] == []


@pytest.mark.attack(
    "revoked API key", injected="a key used after revoke-key", happened="401 from the next request"
)
async def test_a_revoked_key_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_platform(tmp_path) as platform:
        spare = create_key(platform.settings, client_id=platform.client_id)
        session_id = await start_with(platform, str(spare["api_key"]))
        monkeypatch.setenv("ZENHIRE_DATA_DIR", str(platform.settings.data_dir))
        code, revoked = cli(capsys, "revoke-key", "--key-id", str(spare["key_id"]))
        assert code == 0 and isinstance(revoked, dict)
        assert revoked["key_id"] == spare["key_id"] and revoked["revoked_at"]

        response = await platform.call("GET", f"/sessions/{session_id}", key=str(spare["api_key"]))
        assert assert_error(response, 401, "UNAUTHORIZED")["message"] == "The API key was revoked."
        assert (await platform.session(session_id))["id"] == session_id, "the other key still works"
        again = revoke_key(platform.settings, key_id=str(spare["key_id"]))
        assert again["revoked_at"] == revoked["revoked_at"]


@pytest.mark.parametrize("query", [{"project_id": "p" * 65}, {"candidate_ref": "c" * 257}])
async def test_an_oversized_list_filter_is_400(tmp_path: Path, query: dict[str, str]) -> None:
    async with running_platform(tmp_path) as platform:
        response = await platform.call("GET", "/sessions", params=query)
        assert_error(response, 400, "VALIDATION_ERROR")


async def test_webhook_payloads_carry_the_project(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    async with running_platform(tmp_path, client={"project": "Hiring"}) as platform:
        hook = await platform.ok("POST", "/webhooks", 201, json={"url": receiver.url})
        session_id, _ = await platform.start()
        await platform.ok("POST", f"/sessions/{session_id}/revoke")
        [delivered] = await receiver.wait_for(1)
        event = Webhook(hook["secret"]).verify(delivered.body, delivered.headers)
        assert event["type"] == "session.expired"
        assert event["data"]["project_id"] == (await platform.session(session_id))["project_id"]
        assert event["data"]["project_id"] is not None
    await receiver.stop()


async def test_a_key_from_before_keys_had_a_table_still_works(tmp_path: Path) -> None:
    """A database of an older release has the key only in ``clients``."""
    async with running_platform(tmp_path) as platform:
        await platform.server.stop()
        with closing(sqlite3.connect(platform.settings.database_path)) as db, db:
            db.execute("DELETE FROM api_keys")
        await platform.server.start()
        listed = await platform.ok("GET", "/sessions")
        assert listed["data"] == []
