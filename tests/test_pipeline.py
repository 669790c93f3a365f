import pytest

from hipaactl.config.model import AccountDesired, AccountSelector, Exclusion
from hipaactl.errors import ConfigError
from hipaactl.pipeline import check_declared_accounts
from tests import builders as b


def test_declared_account_missing_from_live_state_is_a_config_error() -> None:
    config = b.config(accounts=((4242, AccountDesired()),))
    with pytest.raises(ConfigError) as caught:
        check_declared_accounts(config, (b.account(1001).info,))
    assert caught.value.issues[0].key == "account[#0].id"
    assert "4242 does not exist" in caught.value.issues[0].message


def test_declared_account_excluded_by_name_glob_is_a_config_error() -> None:
    config = b.config(accounts=((1001, AccountDesired()),))
    config = config.__class__(
        **{
            **config.__dict__,
            "selector": AccountSelector(
                include=("*",), exclude=(Exclusion(reason="demo", name="Clinic 10*"),)
            ),
        }
    )
    with pytest.raises(ConfigError) as caught:
        check_declared_accounts(config, (b.account(1001).info,))
    assert "excluded" in caught.value.issues[0].message
