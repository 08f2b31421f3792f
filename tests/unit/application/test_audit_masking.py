"""What may enter the audit trail (`masked_values`, `mask_text`) and how audit filters read times
(`parse_when`, fuzzed: every input is either a UTC datetime or AUDIT_FILTER_INVALID naming the field)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.application.audit import AuditFilterInvalid, check_outcome, mask_text, masked_values, parse_when

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "masked"), [
    ("DE89370400440532013000", "DE89**************3000"),
    ("FR14 2004 1010 0505 0001 3M02 606", "FR14*******************2606"),
    ("acct 6222020200001234 closed", "acct ************1234 closed"),
    ("6222 0202 0000 1234", "************1234"),
    ("1234567", "1234567"),                     # seven digits: not an account number
    ("amount 12345678.90 EUR", "amount 12345678.90 EUR"),  # a decimal amount stays readable
    ("on 2030-01-10 at 09:00:00", "on 2030-01-10 at 09:00:00"),
])
def test_account_numbers_are_masked_and_the_rest_stays_readable(raw: str, masked: str) -> None:
    assert mask_text(raw) == masked


def test_secret_looking_keys_are_redacted_at_any_depth_and_numbers_left_alone() -> None:
    got = masked_values({"password": "hunter2", "totp_secret": "JBSWY3DPEHPK3PXP", "session_id": "abc",
                         "api_key": "yq_1_x", "nested": {"token": "t", "iban": "DE89370400440532013000"},
                         "list": ["12345678901", {"otp": "123456"}], "amount_minor": 123456789012,
                         "password_changed": None})
    assert got == {"password": "[redacted]", "totp_secret": "[redacted]", "session_id": "[redacted]",
                   "api_key": "[redacted]", "nested": {"token": "[redacted]", "iban": "DE89**************3000"},
                   "list": ["*******8901", {"otp": "[redacted]"}], "amount_minor": 123456789012,
                   "password_changed": None}


_no_digits = st.text(st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="."), max_size=20)


@given(_no_digits, st.from_regex(r"[0-9]{8,24}", fullmatch=True), _no_digits)
def test_an_account_number_inside_any_text_never_survives_masking(before: str, digits: str, after: str) -> None:
    out = mask_text(before + digits + after)
    assert digits not in out.replace(" ", "") and digits[-4:] in out


@pytest.mark.parametrize(("raw", "want"), [
    ("7d", NOW - timedelta(days=7)), ("12h", NOW - timedelta(hours=12)), ("30m", NOW - timedelta(minutes=30)),
    ("2030-01-02", datetime(2030, 1, 2, tzinfo=UTC)),
    ("2030-01-02T03:04:05", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2030-01-02T11:04:05+08:00", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
])
def test_filter_times_read_ages_dates_and_datetimes_as_utc(raw: str, want: datetime) -> None:
    assert parse_when(raw, now=NOW, where="since") == want


@pytest.mark.parametrize("raw", ["yesterday", "7w", "", "2030-13-01", "-7d", "9999999d"])
def test_an_unreadable_filter_time_is_refused_with_its_field(raw: str) -> None:
    with pytest.raises(AuditFilterInvalid) as exc:
        parse_when(raw, now=NOW, where="since")
    assert (exc.value.code, exc.value.where, exc.value.rule) == ("AUDIT_FILTER_INVALID", "since", "when_format")


@given(st.text(max_size=40))
def test_parse_when_never_fails_otherwise(raw: str) -> None:
    try:
        got = parse_when(raw, now=NOW, where="until")
    except AuditFilterInvalid as exc:
        assert exc.where == "until"
    else:
        assert got.utcoffset() == timedelta(0)


def test_an_unknown_outcome_is_refused() -> None:
    assert check_outcome("denied") == "denied" and check_outcome("") is None
    with pytest.raises(AuditFilterInvalid) as exc:
        check_outcome("maybe")
    assert (exc.value.code, exc.value.where) == ("AUDIT_FILTER_INVALID", "outcome")
