"""Where the data shipped with hipaactl lives: policy packs and examples.

The wheel carries them inside the package (hatch ``force-include``): ``policies/`` as
``hipaactl/_packs`` and ``examples/`` as ``hipaactl/_examples``. A source checkout has
no such folders, so each name falls back to its top-level folder in the repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from hipaactl.errors import HipaactlError

# Package folder -> top-level folder of the repository that the wheel copies into it.
REPO_FOLDERS: dict[str, str] = {"_packs": "policies", "_examples": "examples"}


def package_data_dir(name: str) -> Path:
    """The folder ``hipaactl/<name>`` of the installed package, or its source in a checkout."""
    installed = files("hipaactl") / name
    # Installed wheels and editable checkouts live on the file system, so the
    # Traversable is a real path; a zipped install would fall through to the error.
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    repo_folder = REPO_FOLDERS.get(name)
    if repo_folder is not None:
        checkout = Path(__file__).resolve().parent.parent / repo_folder
        if checkout.is_dir():
            return checkout
    raise HipaactlError(
        f"the data folder hipaactl/{name} is missing from this installation",
        hint="reinstall hipaactl from a wheel or run it from a complete source checkout",
    )
