"""The ``hipaactl doctor`` report as terminal text: names, types and counts, no values."""

from __future__ import annotations

from hipaactl.providers.ctm.doctor import DoctorReport, EndpointReport, FieldReport


def _field_line(f: FieldReport) -> str:
    if f.verdict == "present":
        detail = f"present, {f.expected}"
    elif f.verdict == "other type":
        detail = (
            f"OTHER TYPE in {f.other_type} item(s): {', '.join(f.types_seen)} "
            f"(expected {f.expected})"
        )
    elif f.verdict == "missing":
        detail = f"MISSING in {f.missing} item(s) (expected {f.expected})"
    else:
        detail = f"unchecked: no items (expected {f.expected})"
    return f"      {f.name} [{f.source}]: {detail}"


def _endpoint_lines(e: EndpointReport) -> list[str]:
    mark = "ok" if e.ok else "PROBLEM"
    override = ", overridden" if e.overridden else ""
    status = f"HTTP {e.http_status}" if e.http_status is not None else "no reply"
    lines = [f"  {mark:<7} {e.name}: GET {e.path} ({e.status}{override}) {status}"]
    if e.list_key is not None and e.list_key_found is not None:
        found = "found" if e.list_key_found else "NOT found"
        count = f", {e.items} item(s) on the first page" if e.items is not None else ""
        lines.append(f"    list key {e.list_key!r}: {found}{count}")
    if e.fields:
        lines.append("    fields:")
        lines.extend(_field_line(f) for f in e.fields)
    if e.unknown_fields:
        lines.append(f"    fields hipaactl does not read: {', '.join(e.unknown_fields)}")
    if e.paging_fields:
        next_page = f" (next_page: {e.next_page})" if e.next_page is not None else ""
        lines.append(f"    paging fields: {', '.join(e.paging_fields)}{next_page}")
    if e.rate_limit_headers:
        lines.append(f"    rate-limit headers: {', '.join(e.rate_limit_headers)}")
    lines.extend(f"    problem: {p}" for p in e.problems)
    return lines


def render_doctor(report: DoctorReport) -> str:
    """The doctor report as text: one block per endpoint, the error-shape test, notes,
    and a last line saying whether every needed endpoint answered as expected."""
    listed = "?" if report.accounts_listed is None else str(report.accounts_listed)
    managed = "?" if report.accounts_managed is None else str(report.accounts_managed)
    lines = [
        f"hipaactl doctor: provider {report.provider}",
        f"Accounts: {listed} listed, {managed} managed; probed: {report.account_chosen_by}",
        "",
        "Endpoints:",
    ]
    for endpoint in report.endpoints:
        lines.extend(_endpoint_lines(endpoint))
    shape = report.error_shape
    lines.append("")
    if not shape.attempted:
        lines.append("Error shape: not tested (no reply)")
    else:
        seen = "recognized" if shape.recognized else "NOT recognized"
        keys = ", ".join(shape.body_keys) or "no JSON object"
        lines.append(
            f"Error shape: per_page over the limit answered HTTP {shape.http_status}, "
            f"{seen} (body keys: {keys})"
        )
    headers = sorted({h for e in report.endpoints for h in e.rate_limit_headers})
    lines.append(
        "Rate-limit headers: "
        + (", ".join(headers) if headers else "none seen (CTM publishes none)")
    )
    lines.extend(f"Note: {note}" for note in report.notes)
    lines.append("")
    lines.append(
        "Every needed endpoint answered in the expected shape."
        if report.ok
        else "Some endpoints did not answer in the expected shape: attach `hipaactl doctor "
        "--json` output to your report; it holds no values."
    )
    return "\n".join(lines) + "\n"
