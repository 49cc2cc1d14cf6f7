"""thoth.server.slack.signing: only Slack's signature of the exact body, recently, passes; the
reasons never echo the secret or the signature."""

from __future__ import annotations

import pytest

from thoth.server.slack.signing import MAX_SKEW_SECONDS, sign, verify

SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_700_000_000.0
STAMP = str(int(NOW))
BODY = b"payload=%7B%22type%22%3A%22block_actions%22%7D"


def test_slacks_documented_example_signs_the_same() -> None:
    # api.slack.com/authentication/verifying-requests-from-slack, step by step
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign(SECRET, "1531420618", body) == expected
    assert verify(SECRET, "1531420618", expected, body, now=1531420618.0) is None


def test_a_valid_signature_passes() -> None:
    assert verify(SECRET, STAMP, sign(SECRET, STAMP, BODY), BODY, NOW) is None


def test_a_signature_under_another_secret_fails() -> None:
    assert verify(SECRET, STAMP, sign(b"another secret", STAMP, BODY), BODY, NOW) == "bad signature"


@pytest.mark.parametrize("signature", ["v0=" + "0" * 64, "v0=", "v1=abc", "garbage", "v0=\u00e9\ud800"])
def test_a_bad_signature_fails(signature: str) -> None:
    assert verify(SECRET, STAMP, signature, BODY, NOW) == "bad signature"


def test_a_body_changed_by_one_byte_fails() -> None:
    signature = sign(SECRET, STAMP, BODY)
    changed = BODY[:-1] + bytes([BODY[-1] ^ 1])
    assert verify(SECRET, STAMP, signature, changed, NOW) == "bad signature"
    assert verify(SECRET, STAMP, signature, BODY + b"&", NOW) == "bad signature"


def test_the_timestamp_is_signed_too() -> None:
    signature = sign(SECRET, STAMP, BODY)
    assert verify(SECRET, str(int(NOW) + 1), signature, BODY, NOW) == "bad signature"


@pytest.mark.parametrize("offset", [-MAX_SKEW_SECONDS - 1, MAX_SKEW_SECONDS + 1, -86_400, 86_400])
def test_a_stale_timestamp_fails_past_or_future(offset: int) -> None:
    stamp = str(int(NOW) + offset)
    assert verify(SECRET, stamp, sign(SECRET, stamp, BODY), BODY, NOW) == "stale timestamp"


@pytest.mark.parametrize("offset", [-MAX_SKEW_SECONDS, MAX_SKEW_SECONDS])
def test_the_skew_bound_itself_passes(offset: int) -> None:
    stamp = str(int(NOW) + offset)
    assert verify(SECRET, stamp, sign(SECRET, stamp, BODY), BODY, NOW) is None


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "v0=abc", "missing timestamp"),
        ("", "v0=abc", "missing timestamp"),
        (STAMP, None, "missing signature"),
        (STAMP, "", "missing signature"),
    ],
)
def test_missing_headers_fail(timestamp: str | None, signature: str | None, reason: str) -> None:
    assert verify(SECRET, timestamp, signature, BODY, NOW) == reason


@pytest.mark.parametrize(
    "timestamp",
    [
        "abc",
        "1.5e9",
        "+1700000000",
        " 1700000000",
        "1_700_000_000",
        "\u0661\u0667\u0660\u0660",
        "9" * 40,
    ],  # Arabic-Indic digits pass str.isdigit()
)
def test_a_non_numeric_timestamp_fails(timestamp: str) -> None:
    assert verify(SECRET, timestamp, sign(SECRET, STAMP, BODY), BODY, NOW) == "bad timestamp"


def test_no_secret_configured_accepts_nothing() -> None:
    assert verify(b"", STAMP, sign(b"", STAMP, BODY), BODY, NOW) == "no signing secret configured"


def test_reasons_echo_neither_secret_nor_signature() -> None:
    signature = sign(b"x", STAMP, BODY)
    reason = verify(SECRET, STAMP, signature, BODY, NOW)
    assert reason is not None
    assert SECRET.decode() not in reason
    assert signature not in reason
    assert signature[3:] not in reason
