"""The README's sample plan is the real output of the clinic example (issue 16 item 7).

Regenerate it with ``HIPAACTL_REGENERATE_DOCS=1 pytest tests/docs/test_readme_sample.py``.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from tests.conftest import CliRunner

README = Path(__file__).resolve().parents[2] / "README.md"
SAMPLE = re.compile(r"<!-- readme-sample: (?P<args>.+?) -->\n```text\n(?P<body>.*?)```\n", re.S)


def test_the_readme_sample_plan_is_what_plan_prints(clinic: Path, cli: CliRunner) -> None:
    text = README.read_text(encoding="utf-8")
    samples = list(SAMPLE.finditer(text))
    assert samples, "the README has no readme-sample block"
    for sample in samples:
        args = shlex.split(sample.group("args"))
        result = cli(*args, "--no-color")
        assert result.code == 0, result.err
        if os.environ.get("HIPAACTL_REGENERATE_DOCS"):
            text = text.replace(
                sample.group(0), sample.group(0).replace(sample.group("body"), result.out)
            )
            README.write_text(text, encoding="utf-8")
            continue
        assert sample.group("body") == result.out, (
            "README.md's sample is out of date; regenerate it with "
            "HIPAACTL_REGENERATE_DOCS=1 pytest tests/docs/test_readme_sample.py"
        )
