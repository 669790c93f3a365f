"""The README says what the code does."""

from pathlib import Path

from hipaactl.providers.ctm.endpoints import endpoint_table_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_the_endpoint_table_of_the_code() -> None:
    assert endpoint_table_markdown() in README.read_text(encoding="utf-8")


def test_readme_has_exactly_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "pip install . && hipaactl plan -c examples/clinic/hipaa.toml" in text
    assert 'pip install -e ".[test]" && pytest' in text
