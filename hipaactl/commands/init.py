"""``hipaactl init``: a commented starter config and a sandbox seed, from the example."""

from __future__ import annotations

import shutil
from pathlib import Path

from hipaactl.errors import HipaactlError
from hipaactl.resources import package_data_dir

# (file in the packaged clinic example, where it goes in DIR)
STARTER_FILES = (("hipaa.toml", "hipaa.toml"), ("sandbox/agency.json", "sandbox/agency.json"))


def run_init(directory: Path, *, force: bool) -> list[Path]:
    """``hipaactl init``: copy the starter files of the clinic example into ``directory``.

    Returns the paths written. Raises HipaactlError, writing nothing, when any exists and
    ``force`` is false, or when a file cannot be written.
    """
    example = package_data_dir("_examples") / "clinic"
    targets = [(example / src, directory / dst) for src, dst in STARTER_FILES]
    existing = [dst for _, dst in targets if dst.exists()]
    if existing and not force:
        raise HipaactlError(
            f"{', '.join(map(str, existing))} already exist(s); nothing was written",
            hint="pass --force to overwrite, or choose another folder",
        )
    written = []
    for src, dst in targets:
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        except OSError as exc:
            raise HipaactlError(f"cannot write {dst}: {exc.strerror}") from None
        written.append(dst)
    return written
