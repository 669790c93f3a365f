"""Headless Chromium for the HTML report tests, and a stdlib PNG decoder for its
screenshots.

Chromium is the system package (``.ci/run`` installs it with apt-get where it can); it is
never downloaded at run time. Each run gets a fresh profile and flags that keep it off
the network: no background networking, no component updates, no sync, no QUIC.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    # Chromium's own background requests (time, updates, sign-in) go nowhere: no test
    # touches the internet. The page is a file and needs no name resolved.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
TIMEOUT_SECONDS = 180.0


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found is not None:
            return found
    return None


def run_chromium(chromium: str, page: Path, *action: str, extra: Sequence[str] = ()) -> str:
    """Load ``page`` from disk with ``action`` (``--dump-dom`` or ``--screenshot=...``)
    and return stdout; raises AssertionError with Chromium's stderr when it fails."""
    with tempfile.TemporaryDirectory(prefix="hipaactl-chromium-") as profile:
        command = [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            *extra,
            *action,
            page.resolve().as_uri(),
        ]
        # No D-Bus session here: keep Chromium from looking for one.
        environ = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"}
        result = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            env=environ,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 0, f"chromium exited {result.returncode}: {result.stderr[-2000:]}"
    return result.stdout


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int  # 3 (RGB) or 4 (RGBA)
    rows: tuple[bytes, ...]  # unfiltered scanlines, ``width * channels`` bytes each


def decode_png(data: bytes) -> Image:
    """A non-interlaced 8-bit RGB or RGBA PNG (what Chromium writes), per the PNG
    specification (ISO/IEC 15948): chunks, zlib stream, per-scanline filters 0-4."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    at, idat = 8, b""
    width = height = channels = 0
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        at += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = _unfilter(kind, bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(bytes(line))
        previous = line
    return Image(width, height, channels, tuple(rows))


def _unfilter(kind: int, line: bytearray, previous: bytes, bpp: int) -> bytes:
    """Undo one scanline's filter. None, Sub and Up run at C speed (Sub as a running sum
    per channel); Average and Paeth, rarer in Chromium's output, byte by byte."""
    if kind == 0:
        return bytes(line)
    if kind == 1:
        for channel in range(bpp):
            line[channel::bpp] = bytes(v & 0xFF for v in accumulate(line[channel::bpp]))
        return bytes(line)
    if kind == 2:
        return bytes((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            corner = previous[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter {kind}")
    return bytes(line)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def hex_colour(value: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an RGB triple."""
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
