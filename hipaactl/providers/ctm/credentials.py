"""CTM API credentials, read only from the environment or from files it names.

Each key comes from ``CTM_ACCESS_KEY`` / ``CTM_SECRET_KEY`` or from the file named by
``CTM_ACCESS_KEY_FILE`` / ``CTM_SECRET_KEY_FILE`` (contents stripped, the usual shape of
Docker and Kubernetes secrets). Setting both forms of one key is an error rather than a
silent precedence: two sources that may disagree are a mistake the user should see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hipaactl.errors import AuthenticationError

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


def load_credentials(environ: Mapping[str, str]) -> Credentials:
    """Read both keys; a missing, empty, unreadable or doubly-set key raises
    ``AuthenticationError`` naming the variables to set (never their values)."""
    access_key = _read_key(environ, ACCESS_KEY_VAR)
    secret_key = _read_key(environ, SECRET_KEY_VAR)
    if ":" in access_key:
        # HTTP Basic auth splits user and password at the first colon.
        raise AuthenticationError(
            f"{ACCESS_KEY_VAR} contains ':' which HTTP Basic auth cannot carry",
            hint="copy the access key again from CTM (Settings > API Integration)",
        )
    return Credentials(access_key=access_key, secret_key=secret_key)


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
        raise AuthenticationError(
            f"no CTM credentials: {name} is not set",
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
