"""CTM API credentials, read only from the environment or from files it names.

Each key comes from ``CTM_ACCESS_KEY`` / ``CTM_SECRET_KEY`` or from the file named by
``CTM_ACCESS_KEY_FILE`` / ``CTM_SECRET_KEY_FILE`` (contents stripped, the usual shape of
Docker and Kubernetes secrets). Setting both forms of one key is an error rather than a
silent precedence: two sources that may disagree are a mistake the user should see.

HTTP Basic auth carries the keys as Latin-1 (RFC 7617 leaves the charset open;
``requests`` encodes ``str`` credentials as Latin-1), so a key holding any other
character is refused when loaded, without showing any of it. Loading registers both keys
and the ``Authorization: Basic`` token with the one scrubber (``hipaactl.model.scrub``),
so no sink shows them from then on.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hipaactl.errors import AuthenticationError
from hipaactl.model.scrub import register_secret

ACCESS_KEY_VAR = "CTM_ACCESS_KEY"
SECRET_KEY_VAR = "CTM_SECRET_KEY"
_MASK = "***"


@dataclass(frozen=True)
class Credentials:
    """The access key and secret key for HTTP Basic auth; repr and str mask both."""

    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return f"Credentials(access_key={_MASK!r}, secret_key={_MASK!r})"

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in a message (for redacting server text)."""
        return (self.access_key, self.secret_key)

    def basic_token(self, encoding: str = "latin-1") -> str:
        """The ``Authorization: Basic`` token, base64 of ``access:secret`` in ``encoding``;
        Latin-1 is what is sent (as ``requests.auth.HTTPBasicAuth`` encodes it, RFC 7617's
        default). Raises UnicodeEncodeError for a key outside it (``load_credentials``
        refuses those)."""
        pair = f"{self.access_key}:{self.secret_key}"
        return base64.b64encode(pair.encode(encoding)).decode("ascii")

    def basic_tokens(self) -> tuple[str, ...]:
        """The Basic token as sent, in Latin-1, and as a server that assumes UTF-8 would
        rebuild it."""
        return tuple(sorted({self.basic_token(e) for e in ("latin-1", "utf-8")}))

    def register_with_scrubber(self) -> None:
        """Mask both keys, and the Basic tokens whole, at every sink from now on."""
        for key in self.secrets():
            register_secret(key)
        for token in self.basic_tokens():
            register_secret(token, fragments=False)


def load_credentials(environ: Mapping[str, str]) -> Credentials:
    """Read both keys; a missing, empty, unreadable, doubly-set or non-Latin-1 key
    raises ``AuthenticationError`` naming the variables to set (never their values).
    Both keys and the Basic tokens are registered with the scrubber."""
    access_key = _read_key(environ, ACCESS_KEY_VAR)
    secret_key = _read_key(environ, SECRET_KEY_VAR)
    # Masked before any check below can fail, so no later message can show them.
    register_secret(access_key)
    register_secret(secret_key)
    for name, value in ((ACCESS_KEY_VAR, access_key), (SECRET_KEY_VAR, secret_key)):
        _refuse_non_latin1(name, value)
    if ":" in access_key:
        # HTTP Basic auth splits user and password at the first colon.
        raise AuthenticationError(
            f"{ACCESS_KEY_VAR} contains ':' which HTTP Basic auth cannot carry",
            hint="copy the access key again from CTM (Settings > API Integration)",
        )
    credentials = Credentials(access_key=access_key, secret_key=secret_key)
    credentials.register_with_scrubber()
    return credentials


def _refuse_non_latin1(name: str, value: str) -> None:
    """Refuse a key HTTP Basic auth cannot carry, naming neither the character nor its
    position: either would show part of the key."""
    # Tested without encoding: a UnicodeEncodeError would quote the key, and even a
    # suppressed one stays attached to the error as its context.
    if all(ord(char) <= 0xFF for char in value):
        return
    raise AuthenticationError(
        f"{name} holds a character outside Latin-1 (ISO-8859-1), which HTTP Basic "
        "auth cannot carry",
        hint="copy the key again from CTM (Settings > API Integration); it is plain ASCII there",
    )


def _read_key(environ: Mapping[str, str], name: str) -> str:
    file_var = f"{name}_FILE"
    direct = environ.get(name, "")
    file_name = environ.get(file_var, "")
    if direct and file_name:
        raise AuthenticationError(
            f"both {name} and {file_var} are set",
            hint=f"unset one of them: {name} holds the key, {file_var} names a file holding it",
        )
    if file_name:
        return _read_key_file(Path(file_name), file_var)
    value = direct.strip()
    if not value:
        # An empty variable is a different mistake from a missing one (a CI secret that
        # expanded to nothing): say which.
        state = "is empty" if name in environ else "is not set"
        raise AuthenticationError(
            f"no CTM credentials: {name} {state}",
            hint=(
                f"export {ACCESS_KEY_VAR} and {SECRET_KEY_VAR} (or {ACCESS_KEY_VAR}_FILE and "
                f"{SECRET_KEY_VAR}_FILE naming files that hold them); CTM shows the keys "
                "under Settings > API Integration"
            ),
        )
    return value


def _read_key_file(path: Path, file_var: str) -> str:
    value, problem = _key_file_contents(path)
    if problem is not None:
        raise AuthenticationError(
            f"the file named by {file_var} ({path}): {problem}",
            hint=f"point {file_var} at a readable file holding only the key",
        )
    return value


def _key_file_contents(path: Path) -> tuple[str, str | None]:
    """The stripped key and a problem, if any. It returns rather than raises so that no
    exception quoting the file's bytes is chained to the user-facing error."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        # strerror only: the path is the user's own setting and holds no secret.
        return "", f"cannot read it ({error.strerror or type(error).__name__})"
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return "", "it is not UTF-8 text"
    return value, None if value else "it is empty"
