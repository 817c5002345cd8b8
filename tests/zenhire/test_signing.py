"""S2S signatures, version 2: what they cover, and what a receiver refuses."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reliability import count_example
from zenhire.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Direction,
    NonceCache,
    SignatureError,
    Signer,
)

SECRET = "a-test-secret-that-is-long-enough-0123"
OTHER = "another-test-secret-long-enough-45678"
TO_GATEWAY = Signer.of([SECRET], Direction.TO_GATEWAY)
BODY = b'{"token": "t"}'


def test_a_signed_request_verifies_once() -> None:
    nonces = NonceCache()
    headers = TO_GATEWAY.headers("GET", "/s2s/v1/sessions/s/recording?from_ms=0", b"")
    TO_GATEWAY.verify(headers, "GET", "/s2s/v1/sessions/s/recording?from_ms=0", b"", nonces=nonces)
    with pytest.raises(SignatureError, match="replayed"):
        TO_GATEWAY.verify(
            headers, "GET", "/s2s/v1/sessions/s/recording?from_ms=0", b"", nonces=nonces
        )


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("POST", "/s2s/v1/sessions/s/recording?from_ms=0", b""),  # method
        ("GET", "/s2s/v1/sessions/t/recording?from_ms=0", b""),  # path
        ("GET", "/s2s/v1/sessions/s/recording?from_ms=1", b""),  # query
        ("GET", "/s2s/v1/sessions/s/recording", b""),  # query dropped
        ("GET", "/s2s/v1/sessions/s/recording?from_ms=0", b"x"),  # body
    ],
)
def test_the_signature_covers_method_path_query_and_body(
    method: str, target: str, body: bytes
) -> None:
    headers = TO_GATEWAY.headers("GET", "/s2s/v1/sessions/s/recording?from_ms=0", b"")
    with pytest.raises(SignatureError, match="mismatch"):
        TO_GATEWAY.verify(headers, method, target, body)


def test_each_direction_has_its_own_key() -> None:
    headers = Signer.of([SECRET], Direction.TO_CONTROL_PLANE).headers("POST", "/v", BODY)
    with pytest.raises(SignatureError):
        TO_GATEWAY.verify(headers, "POST", "/v", BODY)


def test_a_previous_secret_verifies_during_a_rotation_and_the_new_one_signs() -> None:
    old = Signer.of([SECRET], Direction.TO_GATEWAY)
    rotating = Signer.of([OTHER, SECRET], Direction.TO_GATEWAY)
    rotating.verify(old.headers("GET", "/a", b""), "GET", "/a", b"")
    old_only = Signer.of([SECRET], Direction.TO_GATEWAY)
    with pytest.raises(SignatureError, match="unknown key id"):
        old_only.verify(rotating.headers("GET", "/a", b""), "GET", "/a", b"")


@pytest.mark.parametrize("skew_sec", [-301, 301])
@pytest.mark.fault(
    "clock skew",
    injected="S2S timestamps outside the allowed skew",
    happened="refused as a signature error (the sender retries)",
)
def test_a_timestamp_outside_the_skew_is_refused(skew_sec: int) -> None:
    headers = TO_GATEWAY.headers("GET", "/a", b"", now=time.time() + skew_sec)
    with pytest.raises(SignatureError, match="skew"):
        TO_GATEWAY.verify(headers, "GET", "/a", b"")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        (TIMESTAMP_HEADER, "+1767225600", "timestamp"),
        (TIMESTAMP_HEADER, "1767225600.5", "timestamp"),
        (TIMESTAMP_HEADER, " 1767225600", "timestamp"),
        (TIMESTAMP_HEADER, "1e9", "timestamp"),
        (NONCE_HEADER, "short", "nonce"),
        (NONCE_HEADER, "has spaces in it 0123456789", "nonce"),
        (SIGNATURE_HEADER, "v1=" + "0" * 64, "signature"),
        (SIGNATURE_HEADER, "v2 kid=zzzzzzzz sig=" + "0" * 64, "signature"),
        (SIGNATURE_HEADER, "", "missing"),
    ],
)
@pytest.mark.attack(
    "malformed signature headers",
    injected="missing, duplicated or malformed signature headers",
    happened="refused naming the header",
)
def test_malformed_headers_are_refused_by_name(name: str, value: str, reason: str) -> None:
    headers = {**TO_GATEWAY.headers("GET", "/a", b""), name: value}
    with pytest.raises(SignatureError, match=reason):
        TO_GATEWAY.verify(headers, "GET", "/a", b"")


def test_secrets_never_show_in_a_signer_repr() -> None:
    assert SECRET not in repr(TO_GATEWAY)
    assert "keys" not in repr(TO_GATEWAY)


@settings(max_examples=2000, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER, "x-other"]),
        st.text(max_size=120),
    ),
    st.sampled_from(["GET", "POST", "DELETE"]),
    st.text(max_size=60),
    st.binary(max_size=64),
)
def test_verify_only_ever_refuses_with_a_signature_error(
    headers: dict[str, str], method: str, target: str, body: bytes
) -> None:
    """Whatever the headers hold, forged headers are refused, and only with `SignatureError`."""
    count_example("S2S signature headers")
    with pytest.raises(SignatureError):
        TO_GATEWAY.verify(headers, method, target, body, nonces=NonceCache())


def test_the_nonce_cache_stays_bounded() -> None:
    cache = NonceCache(max_entries=100)
    now = time.time()
    for number in range(1000):
        cache.claim(f"nonce-{number:04d}-0123456789abcdef", now)
    assert len(cache) <= 100
