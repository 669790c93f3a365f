from hipaactl.model.targets import is_selected, may_select_within, selects, unmatched


def test_target_selects_itself_and_what_is_under_it() -> None:
    assert selects("account[1]", "account[1]")
    assert selects("account[1]", "account[1].settings")
    assert selects("account[1]", 'account[1].user["a@b.org"]')
    assert selects("account[1].user", 'account[1].user["a@b.org"]')


def test_account_1_never_selects_account_1001() -> None:
    assert not selects("account[1]", "account[1001]")
    assert not selects("account[1]", "account[1001].settings")


def test_reading_is_needed_above_and_below_a_target() -> None:
    assert may_select_within('account[1].user["a@b.org"]', "account[1]")
    assert may_select_within("account[1]", "account[1].user")
    assert not may_select_within("account[1]", "account[1001].user")


def test_no_targets_selects_everything() -> None:
    assert is_selected((), "agency.security")


def test_unmatched_targets_are_named() -> None:
    assert unmatched(["account[2]", "agency"], ["agency.security", "account[1].plan"]) == [
        "account[2]"
    ]
