from hipaactl.canonical import digest
from hipaactl.live.inventory import fingerprint_document, live_resources, state_fingerprint
from tests import builders as b


def test_streamed_fingerprint_is_the_digest_of_the_canonical_document() -> None:
    live = b.live(
        b.account(1002, settings=b.settings(), users=(b.user("a@x.org"),)),
        b.account(1001, call_settings=(b.profile("CS1"),), notifications=(b.notification(),)),
    )
    assert state_fingerprint(live) == digest(fingerprint_document(live))


def test_fingerprint_changes_with_any_live_value() -> None:
    before = b.live(b.account(1001, settings=b.settings()))
    after = b.live(b.account(1001, settings=b.settings(redaction_schedule="daily")))
    assert state_fingerprint(before) != state_fingerprint(after)


def test_live_resources_are_addressed_and_sorted() -> None:
    live = b.live(b.account(1001, users=(b.user("Dr.Lee@x.org"),), settings=b.settings()))
    addresses = [r.address for r in live_resources(live)]
    assert addresses == sorted(addresses)
    assert 'account[1001].user["dr.lee@x.org"]' in addresses
    assert "agency.security" in addresses
