"""The gateway's settings: read once at start-up, every bad value named."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.errors import ConfigError
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.settings import Settings
from zenhire.s2s_secret import DEV_S2S_SECRET


def test_local_overrides_are_read_with_the_gateway_settings() -> None:
    settings = Settings.from_env(
        {"ZENHIRE_LOCAL_MAX_QUESTIONS": "2", "ZENHIRE_LOCAL_BARGE_IN": "false"}
    )
    assert settings.local.max_questions == 2
    assert settings.local.barge_in is False
    assert (
        settings.local.end_of_turn_silence_ms == LocalInterviewerSettings().end_of_turn_silence_ms
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"ZENHIRE_LOCAL_NO_SUCH_THING": "1"}, "ZENHIRE_LOCAL_NO_SUCH_THING"),
        ({"ZENHIRE_LOCAL_MAX_QUESTIONS": "many"}, "ZENHIRE_LOCAL_MAX_QUESTIONS"),
        ({"ZENHIRE_LOCAL_MAX_QUESTIONS": "40"}, "max_questions"),
        ({"ZENHIRE_LOCAL_BARGE_IN": "sometimes"}, "ZENHIRE_LOCAL_BARGE_IN"),
        ({"ZENHIRE_OPERATOR_KEY": "short"}, "ZENHIRE_OPERATOR_KEY"),
        ({"ZENHIRE_OPERATOR_KEYS": "alice"}, "ZENHIRE_OPERATOR_KEYS"),
        ({"ZENHIRE_OPERATOR_KEYS": "a b:0123456789abcdef"}, "ZENHIRE_OPERATOR_KEYS"),
        ({"ZENHIRE_REDIS_URL": "http://127.0.0.1:6379"}, "ZENHIRE_REDIS_URL"),
        ({"ZENHIRE_REPLICA_ID": "gw 1"}, "ZENHIRE_REPLICA_ID"),
        ({"ZENHIRE_OUTBOX_MAX_ATTEMPTS": "0"}, "ZENHIRE_OUTBOX_MAX_ATTEMPTS"),
        ({"ZENHIRE_CONTROLPLANE_URL": "http://cp.example.com"}, "ZENHIRE_CONTROLPLANE_URL"),
        ({"ZENHIRE_CONTROLPLANE_PLAIN_HTTP": "yes"}, "ZENHIRE_CONTROLPLANE_PLAIN_HTTP"),
        ({"ZENHIRE_S3_BUCKET": "Not A Bucket"}, "ZENHIRE_S3_BUCKET"),
        ({"ZENHIRE_S3_BUCKET": "zh-art", "ZENHIRE_S3_ENDPOINT_URL": "s3.local"}, "ENDPOINT_URL"),
        ({"ZENHIRE_S3_BUCKET": "zh-art", "ZENHIRE_S3_SSE": "rot13"}, "ZENHIRE_S3_SSE"),
        (
            {"ZENHIRE_S3_BUCKET": "zh-art", "ZENHIRE_S3_SSE_KMS_KEY_ID": "k"},
            "ZENHIRE_S3_SSE_KMS_KEY_ID",
        ),
        ({"ZENHIRE_S3_BUCKET": "zh-art", "AWS_ACCESS_KEY_ID": "a"}, "AWS_SECRET_ACCESS_KEY"),
        ({"ZENHIRE_RECORDING_SEGMENT_SEC": "30"}, "ZENHIRE_RECORDING_SEGMENT_SEC"),
        ({"ZENHIRE_GATEWAY_HOST": "0.0.0.0"}, "ZENHIRE_S2S_SECRET"),
        ({"ZENHIRE_GATEWAY_HOST": "10.0.0.5", "ZENHIRE_S2S_SECRET": "short"}, "ZENHIRE_S2S_SECRET"),
        (
            {
                "ZENHIRE_GATEWAY_HOST": "0.0.0.0",
                "ZENHIRE_S2S_SECRET": "s" * 32,
                "ZENHIRE_S2S_PREVIOUS_SECRETS": "old",
            },
            "ZENHIRE_S2S_PREVIOUS_SECRETS",
        ),
        ({"ZENHIRE_TURN_URLS": "turn:127.0.0.1:3478"}, "ZENHIRE_TURN_SECRET"),
        ({"ZENHIRE_TURN_SECRET": "t" * 32}, "ZENHIRE_TURN_URLS"),
        (
            {"ZENHIRE_TURN_URLS": "http://turn.example.net", "ZENHIRE_TURN_SECRET": "t" * 32},
            "ZENHIRE_TURN_URLS",
        ),
        (
            {"ZENHIRE_TURN_URLS": "turn:127.0.0.1", "ZENHIRE_TURN_SECRET": DEV_S2S_SECRET},
            "ZENHIRE_TURN_SECRET",
        ),
        (
            {
                "ZENHIRE_GATEWAY_HOST": "0.0.0.0",
                "ZENHIRE_S2S_SECRET": "s" * 32,
                "ZENHIRE_TURN_URLS": "turn:turn.example.net:3478",
                "ZENHIRE_TURN_SECRET": "short",
            },
            "ZENHIRE_TURN_SECRET",
        ),
        (
            {
                "ZENHIRE_TURN_URLS": "turn:127.0.0.1",
                "ZENHIRE_TURN_SECRET": "secret",
                "ZENHIRE_TURN_TTL_SEC": "60",
            },
            "ZENHIRE_TURN_TTL_SEC",
        ),
        ({"ZENHIRE_MAX_CPU_PERCENT": "lots"}, "ZENHIRE_MAX_CPU_PERCENT"),
        ({"ZENHIRE_CPU_WINDOW_SEC": "0.1"}, "ZENHIRE_CPU_WINDOW_SEC"),
    ],
)
@pytest.mark.attack(
    "weak or default secret on a public address",
    injected="ZENHIRE_S2S_SECRET unset or short on 0.0.0.0, bad settings",
    happened="the service refuses to start, naming the variable",
)
def test_a_bad_setting_fails_at_start_up_naming_it(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(environ)


def test_unset_variables_leave_the_declared_defaults() -> None:
    """The dataclass is the one source of every default (the replica id is random unless set)."""
    base = Settings()
    named = replace(base, operations=replace(base.operations, replica_named=True))
    assert Settings.from_env({"ZENHIRE_REPLICA_ID": base.operations.replica_id}) == named


def test_a_public_listener_takes_a_strong_secret_and_keeps_it_out_of_repr() -> None:
    secret, previous = "s" * 32, "p" * 40
    settings = Settings.from_env(
        {
            "ZENHIRE_GATEWAY_HOST": "0.0.0.0",
            "ZENHIRE_S2S_SECRET": secret,
            "ZENHIRE_S2S_PREVIOUS_SECRETS": previous,
        }
    )
    assert settings.s2s_secrets == (secret, previous)
    assert secret not in repr(settings) and previous not in repr(settings)


def test_loopback_keeps_the_development_default() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert Settings.from_env({"ZENHIRE_GATEWAY_HOST": host}).s2s_secret


def test_a_control_plane_off_this_machine_takes_https_or_an_explicit_private_network() -> None:
    assert Settings.from_env(
        {"ZENHIRE_CONTROLPLANE_URL": "https://cp.example.com/"}
    ).controlplane_url == ("https://cp.example.com")
    assert Settings.from_env({"ZENHIRE_CONTROLPLANE_URL": "http://[::1]:8700"}).controlplane_url
    private = {
        "ZENHIRE_CONTROLPLANE_URL": "http://controlplane:8700",
        "ZENHIRE_CONTROLPLANE_PLAIN_HTTP": "1",
    }
    assert Settings.from_env(private).controlplane_url == "http://controlplane:8700"


def test_the_turn_secret_stays_out_of_repr() -> None:
    secret = "t" * 40
    urls = "turn:turn.example.net:3478, turns:turn.example.net:5349?transport=tcp"
    settings = Settings.from_env(
        {
            "ZENHIRE_GATEWAY_HOST": "0.0.0.0",
            "ZENHIRE_S2S_SECRET": "s" * 32,
            "ZENHIRE_TURN_URLS": urls,
            "ZENHIRE_TURN_SECRET": secret,
        }
    )
    assert settings.turn is not None
    assert settings.turn.urls == (
        "turn:turn.example.net:3478",
        "turns:turn.example.net:5349?transport=tcp",
    )
    assert secret not in repr(settings)


def test_s3_takes_the_standard_aws_variables_and_keeps_the_secret_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "ZENHIRE_S3_BUCKET": "zh-artifacts",
            "ZENHIRE_S3_PREFIX": "/prod/",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret-key-value",
            "AWS_REGION": "eu-west-1",
            "ZENHIRE_S3_SSE": "aws:kms",
            "ZENHIRE_S3_SSE_KMS_KEY_ID": "alias/zenhire",
        }
    )
    assert settings.s3 is not None
    s3 = settings.s3
    assert (s3.prefix, s3.region, s3.sse) == ("prod", "eu-west-1", "aws:kms")
    assert settings.segment_sec == 10.0
    assert "secret-key-value" not in repr(settings)
    assert Settings().segment_sec == 0.0  # the local directory keeps one file per recording


def test_a_named_replica_keeps_its_own_spool_and_outbox() -> None:
    one = Settings.from_env({"ZENHIRE_REPLICA_ID": "gw-1"})
    two = Settings.from_env({"ZENHIRE_REPLICA_ID": "gw-2"})
    assert one.spool_dir != two.spool_dir and one.outbox_path != two.outbox_path
    assert not one.spool_dir.is_relative_to(two.spool_dir)
    assert Settings().spool_dir == Settings().data_dir / "spool"
