"""The one scrubber (SPEC section 9): a key is masked in every form a server, an encoder
or a renderer could give it, and no 8 characters of it survive."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaactl.model.scrub import MASK, Scrubber

ACCESS = "AK-é f(*)+?[x9"
SECRET = 'sk "q\\é$^|{}\t7w'
PAIR = f"{ACCESS}:{SECRET}"


def markdown(text: str) -> str:
    return "".join(f"\\{c}" if c in "\\`*_{}[]()#+-.!|" else c for c in text)


FORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda key: key,
    "upper case": str.upper,
    "json": lambda key: json.dumps(key, ensure_ascii=False),
    "json \\uXXXX": json.dumps,
    "json \\uXXXX upper hex": lambda key: json.dumps(key).replace("\\u00e9", "\\u00E9"),
    "json in json": lambda key: json.dumps(json.dumps(key)),
    "json escaped slash": lambda key: json.dumps(key).replace("/", "\\/"),
    "quote": quote,
    "quote safe=''": lambda key: quote(key, safe=""),
    "quote_plus": quote_plus,
    "quote latin-1": lambda key: quote(key.encode("latin-1"), safe=""),
    "quote lower hex": lambda key: quote(key, safe="").lower(),
    "html": html.escape,
    "html numeric": lambda key: "".join(f"&#{ord(c)};" for c in key),
    "markdown": markdown,
    "latin-1 read as utf-8": lambda key: key.encode("latin-1").decode("utf-8", "replace"),
    "utf-8 read as latin-1": lambda key: key.encode("utf-8").decode("latin-1"),
}


@pytest.fixture
def scrubber() -> Iterator[Scrubber]:
    scrubber = Scrubber()
    scrubber.register(ACCESS)
    scrubber.register(SECRET)
    for encoding in ("latin-1", "utf-8"):
        scrubber.register(base64.b64encode(PAIR.encode(encoding)).decode(), fragments=False)
    yield scrubber


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("key", [ACCESS, SECRET])
def test_every_form_of_a_key_is_masked(scrubber: Scrubber, key: str, form: str) -> None:
    text = f"error: {FORMS[form](key)} was refused"

    scrubbed = scrubber.scrub(text)

    assert scrubbed.startswith("error: ") and scrubbed.endswith(" was refused")
    assert MASK in scrubbed
    assert_no_fragment(scrubbed, key)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_the_basic_token_is_masked_whole(scrubber: Scrubber, encoding: str) -> None:
    token = base64.b64encode(PAIR.encode(encoding)).decode()

    assert scrubber.scrub(f"Authorization: Basic {token}") == f"Authorization: Basic {MASK}"
    assert scrubber.scrub(json.dumps({"h": f"Basic {token}"})) == '{"h": "Basic ***"}'


def test_a_quoted_fragment_of_a_key_is_masked(scrubber: Scrubber) -> None:
    assert_no_fragment(scrubber.scrub(f"key starts {SECRET[:10]}…"), SECRET)
    assert_no_fragment(scrubber.scrub(f"…{ACCESS[3:]} ends it"), ACCESS)


def test_forms_mixed_within_one_key_are_masked(scrubber: Scrubber) -> None:
    mixed = quote(SECRET[:6], safe="") + json.dumps(SECRET[6:])[1:-1]

    assert_no_fragment(scrubber.scrub(mixed), SECRET)


def test_other_text_is_left_alone(scrubber: Scrubber) -> None:
    text = 'account[1001].user["a@b.example"]: HTTP 500 {"x": "\\u00e9"} 100% & <ok>'

    assert scrubber.scrub(text) == text


def test_nothing_registered_changes_nothing() -> None:
    scrubber = Scrubber()

    assert scrubber.scrub(f"raw {SECRET}") == f"raw {SECRET}"
    assert scrubber.scrub_data({"a": [SECRET]}) == {"a": [SECRET]}


def test_data_is_scrubbed_in_every_string_keys_included(scrubber: Scrubber) -> None:
    data = {SECRET: [f"x {ACCESS}", 1, None, True, ("t", SECRET)], "n": 1.5}

    assert scrubber.scrub_data(data) == {MASK: [f"x {MASK}", 1, None, True, ("t", MASK)], "n": 1.5}


def test_clear_forgets_every_secret(scrubber: Scrubber) -> None:
    scrubber.clear()

    assert scrubber.scrub(SECRET) == SECRET
    assert not scrubber.active


def assert_no_fragment(text: str, key: str) -> None:
    pieces = {key[i : i + 8] for i in range(len(key) - 7)}
    assert [piece for piece in pieces if piece in text] == [], text


KEY_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF) | st.sampled_from("\t\n")


@settings(max_examples=150, derandomize=True)
@given(
    key=st.text(KEY_CHARS, min_size=12, max_size=32).filter(lambda k: len(set(k)) >= 9),
    form=st.sampled_from(sorted(FORMS)),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_no_form_of_a_random_key_survives(key: str, form: str, before: str, after: str) -> None:
    scrubber = Scrubber()
    scrubber.register(key)
    encoded = FORMS[form](key)

    scrubbed = scrubber.scrub(before + encoded + after)

    pieces = {key[i : i + 8] for i in range(len(key) - 7)}
    # A piece may also occur in the random text around the key; only count new ones.
    assert [p for p in pieces if p in scrubbed and p not in before + after] == []
