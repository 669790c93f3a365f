"""One run of the pipeline: config -> packs -> gate -> live state -> diff -> plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hipaactl.canonical import digest
from hipaactl.config.load import load_config
from hipaactl.config.model import Config
from hipaactl.errors import ConfigError, ConfigIssue, HipaactlError, StateReadError, UsageError
from hipaactl.live.inventory import live_resources, state_fingerprint
from hipaactl.live.read import (
    AccountListener,
    KindsFor,
    Progress,
    list_accounts,
    read_agency_or_unread,
    read_live_state,
    read_streamed,
    unread_reason,
)
from hipaactl.live.scope import Scope, classify_accounts, find_exclusion, unmatched_includes
from hipaactl.model.addresses import AGENCY_ADDRESS, account_address
from hipaactl.model.changes import KIND_RESOURCE_TYPES, Change, ManualAction
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, LiveState, ResourceKind
from hipaactl.model.targets import (
    address_sort_key,
    blocked_by_targets,
    is_selected,
    nearest,
    unmatched,
)
from hipaactl.model.unread import ACCOUNT_LIST_ADDRESS, Unread
from hipaactl.plan.dependencies import add_safety_dependencies
from hipaactl.plan.desired import desired_for_account, kinds_to_manage
from hipaactl.plan.diff import diff_account, diff_agency, sort_changes
from hipaactl.plan.planfile import Plan
from hipaactl.plan.unsafe import mark_unsafe
from hipaactl.policy.gate import GateOutcome, evaluate_gate, evaluate_read_only
from hipaactl.policy.model import Pack
from hipaactl.policy.packs import load_packs, pack_limit_issues
from hipaactl.policy.views import read_only_resource_kinds
from hipaactl.providers.base import Provider
from hipaactl.report.check import Report, build_report

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The current time as a timezone-aware UTC datetime (the default clock)."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class Inputs:
    """A loaded config, its packs, and the gate's verdict on the declared state."""

    config: Config
    packs: tuple[Pack, ...]
    gate: GateOutcome


def load_inputs(config_path: Path, *, today: dt.date, check_files: bool = True) -> Inputs:
    """Load the config at ``config_path``, its policy packs, and the gate on its desired state.

    ``today`` dates waivers and attestations; ``check_files=False`` skips checks that
    files named by the config exist. Raises ConfigError or PolicyPackError.
    """
    config = load_config(config_path, today=today, check_files=check_files)
    packs = load_packs(config.policies, base_dir=config.directory, config_file=config.path)
    issues = pack_limit_issues(config, packs)
    if issues:
        raise ConfigError(issues)
    return Inputs(config, packs, evaluate_gate(config, packs, today=today))


def config_digest(config: Config, packs: Sequence[Pack]) -> str:
    """The config file's bytes and every custom pack file it names."""
    custom = [p.sha256 for p in packs if not p.source_path.startswith("builtin:")]
    return digest([config.sha256, *custom])


def _declared_account_problem(
    config: Config, account_id: int, live: dict[int, AccountInfo]
) -> str | None:
    info = live.get(account_id)
    if info is None:
        return f"account {account_id} does not exist in live state"
    exclusion = find_exclusion(config.selector, info)
    if exclusion is not None:
        # Id exclusions are caught when loading; name globs only match live names.
        return (
            f"account {account_id} ({info.name!r}) is declared in [[account]] but excluded "
            f"by [accounts] exclude name = {exclusion.name!r}"
        )
    return None


def check_declared_accounts(config: Config, accounts: Sequence[AccountInfo]) -> None:
    """Every ``[[account]]`` must exist in live state and not be excluded."""
    live = {a.id: a for a in accounts}
    issues = []
    for spec in config.accounts:
        problem = _declared_account_problem(config, spec.id, live)
        if problem is not None:
            issues.append(
                ConfigIssue(
                    file=str(config.path),
                    key=f"account[#{spec.index}].id",
                    line=config.key_lines.get(f"account[#{spec.index}]"),
                    message=problem,
                )
            )
    if issues:
        raise ConfigError(issues)


@dataclass(frozen=True)
class PlanOptions:
    targets: tuple[str, ...] = ()
    parallelism: int | None = None
    progress: Progress | None = None
    clock: Clock = utc_now
    list_addresses: bool = False  # fill ``Plan.addresses`` (plan --list-addresses)


@dataclass(frozen=True)
class LiveRead:
    scope: Scope
    live: LiveState
    warnings: tuple[str, ...] = ()


def _read(
    config: Config,
    provider: Provider,
    options: PlanOptions,
    *,
    kinds_for: KindsFor,
    optional_for: KindsFor,
    on_account: AccountListener | None = None,
) -> LiveRead:
    parallelism = options.parallelism or config.provider.parallelism
    if not options.targets:
        # A whole plan or check lists accounts page by page while the first ones are
        # already being read (SPEC section 10).
        live = read_streamed(
            provider,
            is_managed=lambda info: bool(classify_accounts(config, (info,)).managed),
            kinds_for=kinds_for,
            optional_for=optional_for,
            read_agency=True,  # untargeted runs always read it, as read_live_state does
            parallelism=parallelism,
            check_listed=lambda accounts: check_declared_accounts(config, accounts),
            progress=options.progress,
            on_account=on_account,
        )
        warnings = tuple(unmatched_includes(config, live.all_accounts))
        return LiveRead(classify_accounts(config, live.all_accounts), live, warnings)
    # A partial plan lists first: only targeted accounts and resources are read.
    accounts = list_accounts(provider)
    check_declared_accounts(config, accounts)
    scope = classify_accounts(config, accounts)
    live = read_live_state(
        provider,
        scope,
        accounts,
        kinds_for=kinds_for,
        optional_for=optional_for,
        targets=options.targets,
        parallelism=parallelism,
        progress=options.progress,
        on_account=on_account,
    )
    return LiveRead(scope, live, tuple(unmatched_includes(config, accounts)))


def read_live(
    inputs: Inputs,
    provider: Provider,
    options: PlanOptions,
    on_account: AccountListener | None = None,
) -> LiveRead:
    """What a plan needs: the managed resources (a failure to read one fails the run)
    and the read-only facts packs check (a failure to read one is noted in
    ``LiveState.unread``: it becomes a manual action "could not read …")."""
    read_only = read_only_resource_kinds(inputs.packs, inputs.config)

    def managed(account_id: int) -> frozenset[ResourceKind]:
        return kinds_to_manage(desired_for_account(inputs.config, account_id))

    def optional(account_id: int) -> frozenset[ResourceKind]:
        return read_only - managed(account_id)

    return _read(
        inputs.config,
        provider,
        options,
        kinds_for=managed,
        optional_for=optional,
        on_account=on_account,
    )


def _refuse_unread_managed(unread: Sequence[str], targets: Sequence[str]) -> None:
    """A managed field that could not be read fails the plan: nothing is planned."""
    named = sorted(u for u in unread if is_selected(targets, u)) if targets else sorted(unread)
    if named:
        raise StateReadError(
            f"could not read {len(named)} managed field(s); nothing was planned:\n  "
            + "\n  ".join(f"{address}: the API reply has no readable value" for address in named),
            hint="the desired value is computed from this field, so nothing can be planned "
            "for it; run `hipaactl doctor` to see which fields the API gives",
        )


def _unmatched_targets(missing: Sequence[str], addresses: Sequence[str]) -> UsageError:
    """Exit 1 naming each target that matches nothing, with the nearest ``addresses``."""
    lines = []
    for target in missing:
        close = nearest(target, addresses)
        suggestion = f"; nearest: {', '.join(close)}" if close else ""
        lines.append(f"--target {target} matches no address in the plan{suggestion}")
    return UsageError(
        "\n  ".join(lines),
        hint="run `hipaactl plan --list-addresses` to see every address you can target",
    )


def _addresses_around(
    inputs: Inputs,
    provider: Provider,
    options: PlanOptions,
    missing: Sequence[str],
    scope: Scope,
) -> tuple[str, ...]:
    """Every address of the managed accounts that the ``missing`` targets name, read
    whole: a mistyped resource type was not read, and its neighbours are there. Only
    those accounts are read again, not the agency (a target naming no account is
    compared with every managed account's address, which the plan already has)."""
    named = tuple(
        address
        for address in (account_address(info.id) for info in scope.managed)
        if any(t == address or t.startswith(f"{address}.") for t in missing)
    )
    if not named:
        return ()
    around = replace(options, targets=named, list_addresses=True, progress=None)
    return build_plan(inputs, provider, around).addresses


def targetable_addresses(
    read: LiveRead, changes: Sequence[Change], manual: Sequence[ManualAction]
) -> tuple[str, ...]:
    """Every address a plan can name: each resource read (changed or not), each planned
    change (creates included), each manual action, and every managed account; sorted
    with account ids in numeric order."""
    found = {AGENCY_ADDRESS}
    found.update(r.address for r in live_resources(read.live))
    found.update(c.address for c in changes)
    found.update(m.address for m in manual)
    found.update(account_address(info.id) for info in read.scope.managed)
    return tuple(sorted(found, key=address_sort_key))


def _dependency_warnings(changes: Sequence[Change], targets: Sequence[str]) -> list[str]:
    return [
        f"{change.address} depends on {dependency}, which is outside --target: apply will "
        f"skip it; add --target {dependency}"
        for change, dependency in blocked_by_targets(changes, targets)
    ]


def build_plan(inputs: Inputs, provider: Provider, options: PlanOptions) -> Plan:
    """Read live state, diff it against the desired state and return the Plan (SPEC section 5).

    Changes are sorted, given their safety dependencies and marked unsafe; with
    ``options.targets`` only the selected changes and manual actions are kept. Raises
    StateReadError when live state cannot be read or a managed resource or field could
    not be read (naming each), and UsageError when a ``--target`` matches no resource.
    Read-only facts that could not be read become manual actions "could not read …".
    """
    config, packs = inputs.config, inputs.packs
    account_changes: list[Change] = []
    unread: list[str] = []

    def diff_as_read(agency: AgencySecurity | None, account: AccountState) -> None:
        # Diffing while the other accounts are in flight hides its CPU behind the reads.
        account_changes.extend(diff_account(config, packs, agency, account, unread))

    read = read_live(inputs, provider, options, on_account=diff_as_read)
    live = read.live
    agency_changes = diff_agency(config, live)
    _refuse_unread_managed(unread, options.targets)
    ordered = sort_changes([*agency_changes, *account_changes])
    changes = mark_unsafe(add_safety_dependencies(ordered), live)
    manual, read_only_warnings = evaluate_read_only(
        config, packs, live, read.scope, today=options.clock().date(), facts=inputs.gate.facts
    )
    warnings = [*read.warnings, *read_only_warnings]
    addresses: tuple[str, ...] = ()
    if options.targets or options.list_addresses:
        addresses = targetable_addresses(read, changes, manual)
    if options.targets:
        missing = unmatched(options.targets, addresses)
        if missing:
            nearby = _addresses_around(inputs, provider, options, missing, read.scope)
            raise _unmatched_targets(missing, (*addresses, *nearby))
        changes = tuple(c for c in changes if is_selected(options.targets, c.address))
        manual = tuple(m for m in manual if is_selected(options.targets, m.address))
        warnings.extend(_dependency_warnings(changes, options.targets))
    return Plan(
        created_at=options.clock().isoformat(timespec="seconds"),
        config_sha256=config_digest(config, packs),
        state_fingerprint=state_fingerprint(live),
        targets=options.targets,
        changes=changes,
        manual_actions=manual,
        packs=packs,
        gate_results=inputs.gate.results,
        warnings=tuple(dict.fromkeys([*inputs.gate.warnings, *warnings])),
        addresses=tuple(a for a in addresses if is_selected(options.targets, a)),
    )


# -- check: the live audit ------------------------------------------------------------


def checked_kinds(packs: Sequence[Pack]) -> frozenset[ResourceKind]:
    """Every account collection a rule of ``packs`` looks at (its resource type or a
    ``when`` quantifier), whatever the config manages; and users, for the access
    inventory. Integrations are read even with no ``[integrations]`` declared."""
    kind_of = {resource_type: kind for kind, resource_type in KIND_RESOURCE_TYPES.items()}
    kinds: set[ResourceKind] = {"users"}
    for pack in packs:
        for rule in pack.rules:
            types = [rule.resource, *(c.over for c in rule.when if c.over is not None)]
            kinds.update(kind_of[t] for t in types if t in kind_of)
    return frozenset(kinds)


def read_live_for_check(
    config: Config, packs: Sequence[Pack], provider: Provider, options: PlanOptions
) -> LiveRead:
    """What check needs: every collection the packs look at, whatever is managed.

    Nothing that can't be read stops it (SPEC section 7: a report is always written):
    the account list, agency security, an account or one of its collections that fails
    is noted in ``LiveState.unread`` with the provider's reason, and the rules over it
    are ``error``. A declared account missing from the list is still a ``ConfigError``.
    """
    try:
        accounts = tuple(sorted(provider.list_accounts(), key=lambda a: a.id))
    except HipaactlError as exc:
        agency, unread = read_agency_or_unread(provider)
        listing = Unread(ACCOUNT_LIST_ADDRESS, unread_reason(exc))
        live = LiveState(agency, (), (), unread=(listing, *unread))
        return LiveRead(Scope((), (), ()), live)
    check_declared_accounts(config, accounts)
    scope = classify_accounts(config, accounts)
    kinds = checked_kinds(packs)
    live = read_live_state(
        provider,
        scope,
        accounts,
        kinds_for=lambda _: frozenset(),
        optional_for=lambda _: kinds,
        agency_optional=True,
        targets=options.targets,
        parallelism=options.parallelism or config.provider.parallelism,
        progress=options.progress,
    )
    return LiveRead(scope, live)


def build_check_report(
    config: Config,
    packs: Sequence[Pack],
    provider: Provider,
    options: PlanOptions,
    *,
    config_uri: str,
    source_uri: str | None = None,
) -> Report:
    """Read every managed account's live state the packs look at and report on it.
    What could not be read is reported as ``error`` results naming it and the reason
    (never a pass); the report is made all the same."""
    read = read_live_for_check(config, packs, provider, options)
    report = build_report(
        config,
        packs,
        read.live,
        read.scope,
        evaluated_at=options.clock(),
        config_uri=config_uri,
        config_sha256=config_digest(config, packs),
    )
    return replace(report, warnings=(*read.warnings, *report.warnings), source_uri=source_uri)
