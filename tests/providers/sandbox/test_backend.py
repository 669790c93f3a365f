"""The CTM-compatible sandbox backend: routing, paging, validation, persistence."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hipaactl.providers.sandbox.backend import (
    JsonFileStore,
    SandboxBackend,
    SandboxDocumentError,
    check_document,
)
from hipaactl.providers.sandbox.generate import compliant_account, compliant_security

BASE = "http://sandbox.hipaactl.invalid/api/v1"


def agency(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {"agency": {"security": compliant_security()}, "accounts": list(accounts)}


def clinic(account_id: int = 1001, **overrides: Any) -> dict[str, Any]:
    built = compliant_account(account_id, f"Clinic {account_id}")
    built.update(overrides)
    return built


def users(count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "email": f"u{i}@clinic.example", "first_name": "U", "last_name": str(i),
         "role": "agent", "status": "active"}
        for i in range(1, count + 1)
    ]  # fmt: skip


class MemoryStore:
    def __init__(self) -> None:
        self.saved: list[str] = []

    def save(self, document: Mapping[str, Any]) -> None:
        self.saved.append(json.dumps(document, sort_keys=True))


def get(backend: SandboxBackend, path: str, **query: str) -> tuple[int, Any]:
    return backend.handle("GET", path, query, None)


# CTM's SDKs send users flat (ctm-api-evidence.md).
NEW_USER = {"email": "new@clinic.example", "first_name": "N", "last_name": "U", "role": "agent"}
ADA = "/accounts/1001/users/USR100101"

# ---- reads and paging ---------------------------------------------------------------------


def test_lists_use_ctm_list_keys() -> None:
    backend = SandboxBackend(agency(clinic()))
    assert "configs" in get(backend, "/accounts/1001/call_settings")[1]
    assert "automators" in get(backend, "/accounts/1001/triggers")[1]
    assert "webhooks" in get(backend, "/accounts/1001/webhooks")[1]
    listed = get(backend, "/accounts")[1]["accounts"]
    assert [(a["id"], a["name"], a["status"]) for a in listed] == [(1001, "Clinic 1001", "active")]
    assert "plan" not in listed[0]  # CTM's list has none: the detail has it
    assert {"user_role", "agency_id", "created"} <= set(listed[0])  # fields hipaactl ignores
    detail = get(backend, "/accounts/1001")
    assert (detail[0], detail[1]["plan"]) == (200, "Advanced")
    assert "users" not in detail[1]


def test_paging_reply_fields_and_next_page_url() -> None:
    backend = SandboxBackend(agency(clinic(users=users(5))))
    status, first = get(backend, "/accounts/1001/users", per_page="2")
    assert status == 200
    assert [u["id"] for u in first["users"]] == [1, 2]
    assert {k: first[k] for k in ("page", "per_page", "total_entries", "total_pages")} == {
        "page": 1, "per_page": 2, "total_entries": 5, "total_pages": 3,
    }  # fmt: skip
    assert first["next_page"] == f"{BASE}/accounts/1001/users?page=2&per_page=2"
    last = get(backend, "/accounts/1001/users", page="3", per_page="2")[1]
    assert ([u["id"] for u in last["users"]], last["next_page"]) == ([5], None)


def test_default_per_page_is_25() -> None:
    backend = SandboxBackend(agency(clinic(users=users(30))))
    reply = get(backend, "/accounts/1001/users")[1]
    assert (len(reply["users"]), reply["per_page"], reply["total_pages"]) == (25, 25, 2)


def test_page_cap_serves_fewer_items_than_asked() -> None:
    backend = SandboxBackend(agency(clinic(users=users(5))), page_cap=2)
    reply = get(backend, "/accounts/1001/users", per_page="150")[1]
    assert [u["id"] for u in reply["users"]] == [1, 2]
    assert reply["next_page"] == f"{BASE}/accounts/1001/users?page=2&per_page=150"
    second = get(backend, "/accounts/1001/users", page="2", per_page="150")[1]
    assert [u["id"] for u in second["users"]] == [3, 4]


@pytest.mark.parametrize(
    "query", [{"per_page": "151"}, {"per_page": "0"}, {"page": "0"}, {"page": "two"}]
)
def test_bad_paging_is_a_400(query: dict[str, str]) -> None:
    status, reply = get(SandboxBackend(agency(clinic())), "/accounts", **query)
    assert status == 400
    assert reply["status"] == "error"
    assert isinstance(reply["reason"], str)


def test_the_base_path_may_prefix_a_request_path() -> None:
    backend = SandboxBackend(agency(clinic()))
    assert get(backend, "/api/v1/agency/security") == (200, compliant_security())


def test_replies_are_copies() -> None:
    backend = SandboxBackend(agency(clinic()))
    get(backend, "/agency/security")[1]["two_factor"] = "off"
    assert get(backend, "/agency/security")[1]["two_factor"] == "every_login"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/accounts/4242/users", 404),
        ("GET", "/accounts/abc/settings", 404),
        ("GET", "/accounts/1001/calls", 404),
        ("PUT", "/accounts/1001/users/999", 404),
        ("DELETE", "/accounts/1001/users/999", 404),
        ("PUT", "/accounts/1001/call_settings/nope", 404),
        ("PUT", "/accounts/1001/notifications/nope", 404),
        ("DELETE", "/accounts/1001/numbers", 405),
        ("POST", "/agency/security", 405),
    ],
)
def test_unknown_objects_and_routes(method: str, path: str, status: int) -> None:
    backend = SandboxBackend(agency(clinic()))
    reply = backend.handle(method, path, {}, {"user": {"role": "agent"}})
    assert reply[0] == status
    assert reply[1]["status"] == "error"


# ---- writes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/agency/security", {"idle_timeout_minutes": 0}),
        ("/agency/security", {"idle_timeout_minutes": "15"}),
        ("/agency/security", {"two_factor": "sometimes"}),
        ("/agency/security", {"color": "blue"}),
        ("/accounts/1001/settings", {"encrypted_recordings": 1}),
        ("/accounts/1001/settings", {"transcription_mode": "off"}),
        ("/accounts/1001/call_settings/CS1001-1", {"callerid": False}),
        (ADA, {"role": "owner"}),
        (ADA, {"user": {"role": "agent"}}),
        (ADA, {"email": "not-an-email"}),
        ("/agency/security", {"recording_link_expiry_days": -1}),
        ("/accounts/1001/notifications/N1001-1", {"fields": [], "kind": "sms"}),
    ],
)
def test_invalid_writes_are_422_and_change_nothing(path: str, body: Any) -> None:
    store = MemoryStore()
    backend = SandboxBackend(agency(clinic()), store=store)
    before = backend.snapshot()
    status, reply = backend.handle("PUT", path, {}, body)
    assert (status, reply["status"]) == (422, "error")
    assert backend.snapshot() == before
    assert store.saved == []


def test_put_updates_only_the_given_fields() -> None:
    backend = SandboxBackend(agency(clinic()))
    status, reply = backend.handle(
        "PUT", "/accounts/1001/call_settings/CS1001-1", {}, {"callerid_enabled": True}
    )
    assert status == 200
    assert (reply["callerid_enabled"], reply["transcription"]) == (True, True)


def test_post_user_assigns_a_new_id() -> None:
    backend = SandboxBackend(agency(clinic(), clinic(1002)))
    status, reply = backend.handle("POST", "/accounts/1002/users", {}, NEW_USER)
    assert status == 200
    assert reply["user"] == {
        **NEW_USER, "id": "USR100202", "uid": 100202, "status": "active", "account_id": 1002
    }  # fmt: skip
    listed = get(backend, "/accounts/1002/users")[1]["users"]
    assert [u["email"] for u in listed] == ["ada.lee@clinic-1002.example", "new@clinic.example"]


@pytest.mark.parametrize("missing", ["email", "role"])
def test_post_user_needs_email_and_role(missing: str) -> None:
    body = {k: v for k, v in NEW_USER.items() if k != missing}
    status, reply = SandboxBackend(agency(clinic())).handle(
        "POST", "/accounts/1001/users", {}, body
    )
    assert status == 422
    assert missing in reply["reason"]


def test_duplicate_email_is_refused_ignoring_case() -> None:
    backend = SandboxBackend(agency(clinic()))
    body = {**NEW_USER, "email": "Ada.Lee@Clinic-1001.example"}
    assert backend.handle("POST", "/accounts/1001/users", {}, body)[0] == 422
    backend.handle("POST", "/accounts/1001/users", {}, NEW_USER)
    rename = {"email": "NEW@clinic.example"}
    assert backend.handle("PUT", ADA, {}, rename)[0] == 422


def test_a_user_may_change_the_case_of_its_own_email() -> None:
    backend = SandboxBackend(agency(clinic()))
    body = {"email": "Ada.Lee@clinic-1001.example"}
    assert backend.handle("PUT", ADA, {}, body)[0] == 200


def test_delete_user() -> None:
    backend = SandboxBackend(agency(clinic(users=users(2))))
    assert backend.handle("DELETE", "/accounts/1001/users/1", {}, None)[0] == 200
    assert [u["id"] for u in get(backend, "/accounts/1001/users")[1]["users"]] == [2]


def test_concurrent_posts_get_distinct_ids() -> None:
    backend = SandboxBackend(agency(clinic()))

    def create(worker: int) -> None:
        for n in range(10):
            user = {**NEW_USER, "email": f"w{worker}n{n}@clinic.example"}
            assert backend.handle("POST", "/accounts/1001/users", {}, user)[0] == 200

    threads = [threading.Thread(target=create, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [u["id"] for u in backend.snapshot()["accounts"][0]["users"]]
    assert len(ids) == len(set(ids)) == 81


def test_ignore_field_accepts_the_write_and_leaves_the_field() -> None:
    backend = SandboxBackend(agency(clinic()), ignore_field="two_factor")
    body = {"two_factor": "off", "idle_timeout_minutes": 10}
    status, reply = backend.handle("PUT", "/agency/security", {}, body)
    assert status == 200
    assert (reply["two_factor"], reply["idle_timeout_minutes"]) == ("every_login", 10)


def test_error_body_writes_answer_200_and_change_nothing() -> None:
    store = MemoryStore()
    backend = SandboxBackend(agency(clinic()), store=store, error_body_writes=True)
    before = backend.snapshot()
    status, reply = backend.handle("PUT", "/agency/security", {}, {"idle_timeout_minutes": 10})
    assert (status, reply["status"]) == (200, "error")
    assert backend.snapshot() == before and store.saved == []
    assert get(backend, "/agency/security")[0] == 200  # reads are answered as usual


# ---- persistence --------------------------------------------------------------------------


def test_store_is_saved_after_each_successful_write_only() -> None:
    store = MemoryStore()
    backend = SandboxBackend(agency(clinic()), store=store)
    get(backend, "/accounts/1001/users")
    backend.handle("PUT", "/agency/security", {}, {"two_factor": "bogus"})
    assert store.saved == []
    backend.handle("PUT", "/agency/security", {}, {"idle_timeout_minutes": 10})
    backend.handle("POST", "/accounts/1001/users", {}, NEW_USER)
    assert len(store.saved) == 2
    assert json.loads(store.saved[-1]) == backend.snapshot()


def test_json_file_store_writes_the_document_atomically(tmp_path: Path) -> None:
    target = tmp_path / "state" / "agency.json"
    backend = SandboxBackend(agency(clinic()), store=JsonFileStore(target))
    backend.handle("PUT", "/accounts/1001/settings", {}, {"redaction_schedule": "daily"})
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["accounts"][0]["settings"]["redaction_schedule"] == "daily"
    assert [p.name for p in target.parent.iterdir()] == ["agency.json"]  # no temp file left


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"accounts": []}, '"agency"'),
        ({"agency": {"security": {}}}, '"accounts" list'),
        ({"agency": {"security": {}}, "accounts": [{"id": "1"}]}, "integer id"),
        ({"agency": {"security": {}}, "accounts": [{"id": 1}, {"id": 1}]}, "appears twice"),
        ({"agency": {"security": {}}, "accounts": [{"id": 1, "users": {}}]}, "must be a list"),
        ({"agency": {"security": {}}, "accounts": [{"id": 1, "users": [{}]}]}, "with an id"),
    ],
)
def test_malformed_documents_are_refused(document: Any, message: str) -> None:
    with pytest.raises(SandboxDocumentError, match=message):
        check_document(document)
