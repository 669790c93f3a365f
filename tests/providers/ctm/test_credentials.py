from __future__ import annotations

from pathlib import Path

import pytest

from hipaactl.errors import AuthenticationError
from hipaactl.providers.ctm.credentials import Credentials, load_credentials

ACCESS = "AK-access-4242"
SECRET = "sk-very-secret-9f8e7d"


def assert_secret_free(error: BaseException, *secrets: str) -> None:
    texts = [str(error), repr(error), repr(error.args), repr(vars(error))]
    for secret in secrets:
        assert all(secret not in text for text in texts)
    # nothing chained either: a chained exception could quote the file's bytes
    assert error.__cause__ is None
    assert error.__context__ is None


def test_reads_both_keys_from_the_environment() -> None:
    credentials = load_credentials({"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": SECRET})

    assert credentials == Credentials(ACCESS, SECRET)


def test_reads_keys_from_files_and_strips_them(tmp_path: Path) -> None:
    (tmp_path / "access").write_text(f"  {ACCESS}\n", encoding="utf-8")
    (tmp_path / "secret").write_text(f"{SECRET}\n", encoding="utf-8")

    credentials = load_credentials(
        {
            "CTM_ACCESS_KEY_FILE": str(tmp_path / "access"),
            "CTM_SECRET_KEY_FILE": str(tmp_path / "secret"),
        }
    )

    assert credentials == Credentials(ACCESS, SECRET)


def test_each_key_may_come_from_its_own_source(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(SECRET, encoding="utf-8")

    credentials = load_credentials(
        {"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY_FILE": str(tmp_path / "secret")}
    )

    assert credentials == Credentials(ACCESS, SECRET)


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, "CTM_ACCESS_KEY is not set"),
        ({"CTM_ACCESS_KEY": ACCESS}, "CTM_SECRET_KEY is not set"),
        ({"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": "  "}, "CTM_SECRET_KEY is empty"),
        ({"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": ""}, "CTM_SECRET_KEY is empty"),
        ({"CTM_SECRET_KEY": SECRET}, "CTM_ACCESS_KEY is not set"),
    ],
)
def test_a_missing_key_names_the_variables_to_set(environ: dict[str, str], missing: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        load_credentials(environ)

    message = str(caught.value)
    assert missing in message
    assert "CTM_ACCESS_KEY_FILE" in message
    assert "CTM_SECRET_KEY_FILE" in message
    assert caught.value.exit_code == 1
    assert_secret_free(caught.value, ACCESS, SECRET)


def test_both_a_key_and_its_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(SECRET, encoding="utf-8")

    with pytest.raises(AuthenticationError, match="both CTM_SECRET_KEY and CTM_SECRET_KEY_FILE"):
        load_credentials(
            {
                "CTM_ACCESS_KEY": ACCESS,
                "CTM_SECRET_KEY": SECRET,
                "CTM_SECRET_KEY_FILE": str(tmp_path / "secret"),
            }
        )


def test_an_unreadable_key_file_names_the_variable_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    with pytest.raises(AuthenticationError) as caught:
        load_credentials({"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY_FILE": str(missing)})

    assert "CTM_SECRET_KEY_FILE" in str(caught.value)
    assert str(missing) in str(caught.value)
    assert_secret_free(caught.value, ACCESS)


def test_an_empty_key_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("\n", encoding="utf-8")

    with pytest.raises(AuthenticationError, match="is empty"):
        load_credentials(
            {"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY_FILE": str(tmp_path / "secret")}
        )


def test_a_key_file_that_is_not_text_is_an_error_that_quotes_none_of_it(tmp_path: Path) -> None:
    secret_bytes = SECRET.encode() + b"\xff\xfe"
    (tmp_path / "secret").write_bytes(secret_bytes)

    with pytest.raises(AuthenticationError, match="not UTF-8") as caught:
        load_credentials(
            {"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY_FILE": str(tmp_path / "secret")}
        )

    assert_secret_free(caught.value, ACCESS, SECRET)


def test_an_access_key_with_a_colon_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="':'") as caught:
        load_credentials({"CTM_ACCESS_KEY": "ab:cd", "CTM_SECRET_KEY": SECRET})

    assert_secret_free(caught.value, SECRET, "ab:cd")


def test_repr_and_str_mask_both_keys() -> None:
    credentials = Credentials(ACCESS, SECRET)

    for text in (repr(credentials), str(credentials), f"{credentials}", repr([credentials])):
        assert SECRET not in text
        assert ACCESS not in text
    assert repr(credentials) == "Credentials(access_key='***', secret_key='***')"


@pytest.mark.parametrize("variable", ["CTM_ACCESS_KEY", "CTM_SECRET_KEY"])
def test_a_key_that_is_not_latin1_is_refused_without_showing_it(variable: str) -> None:
    key = "zq7-Łódź-ключ-4242-xy"  # Ł, ź and Cyrillic are outside Latin-1
    environ = {"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": SECRET, variable: key}

    with pytest.raises(AuthenticationError) as caught:
        load_credentials(environ)

    message = str(caught.value)
    assert f"{variable} holds a character outside Latin-1" in message
    assert_secret_free(caught.value, key, "Ł", "ź", "ключ")
    assert not any(char in message for char in "Łźключ")


def test_a_latin1_key_is_accepted() -> None:
    credentials = load_credentials({"CTM_ACCESS_KEY": "AK-é-ÿ-1", "CTM_SECRET_KEY": SECRET})

    assert credentials.access_key == "AK-é-ÿ-1"


def test_loaded_keys_and_the_basic_tokens_are_masked_at_every_sink() -> None:
    from hipaactl.model.scrub import scrub

    credentials = load_credentials({"CTM_ACCESS_KEY": "AK-é-ÿ-123", "CTM_SECRET_KEY": SECRET})

    for token in credentials.basic_tokens():
        assert scrub(f"Basic {token}") == "Basic ***"
    assert scrub(f"{credentials.access_key} {SECRET}") == "*** ***"
    assert len(credentials.basic_tokens()) == 2  # Latin-1 and UTF-8 differ for é


def test_a_key_holding_a_byte_that_is_not_utf8_is_refused_without_showing_it() -> None:
    # os.environ keeps an undecodable byte (here 0x85) as a lone surrogate.
    key = "AK-qa-12345\udc85"
    with pytest.raises(AuthenticationError) as caught:
        load_credentials({"CTM_ACCESS_KEY": key, "CTM_SECRET_KEY": SECRET})

    assert "CTM_ACCESS_KEY holds a character outside Latin-1" in str(caught.value)
    assert_secret_free(caught.value, key)
