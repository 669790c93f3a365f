import threading
from collections.abc import Callable

from hipaactl.apply.executor import apply_changes, execution_order
from hipaactl.errors import AuditLogError, ProviderError, UncertainWriteError
from hipaactl.model.changes import Change
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, ResourceKind


class RecordingProvider:
    """Applies nothing; records the order of calls and fails the addresses it is told to."""

    def __init__(
        self, failing: set[str] | None = None, on_apply: Callable[[Change], None] | None = None
    ) -> None:
        self.applied: list[str] = []
        self.failing = failing or set()
        self.on_apply = on_apply
        self.lock = threading.Lock()

    def list_accounts(self) -> tuple[AccountInfo, ...]:
        return ()

    def read_agency_security(self) -> AgencySecurity:
        raise NotImplementedError

    def read_account(self, info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        raise NotImplementedError

    def apply_change(self, change: Change) -> None:
        if self.on_apply is not None:
            self.on_apply(change)
        if change.address in self.failing:
            raise ProviderError("boom", status=500, endpoint="PUT /x")
        with self.lock:
            self.applied.append(change.address)

    def close(self) -> None:
        return None


AGENCY = Change("agency.security", "agency.security", "update", {"a": 1}, {"a": 2})


def user_change(account_id: int, email: str, action: str) -> Change:
    return Change(
        f'account[{account_id}].user["{email}"]',
        "user",
        action,  # type: ignore[arg-type]
        account_id=account_id,
    )


def notification_change(account_id: int, depends: bool) -> Change:
    return Change(
        f'account[{account_id}].notification["N1"]',
        "notification",
        "update",
        account_id=account_id,
        depends_on=("agency.security",) if depends else (),
    )


def settings_change(account_id: int) -> Change:
    return Change(f"account[{account_id}].settings", "settings", "update", account_id=account_id)


def test_agency_first_then_settings_then_users_with_deletes_last() -> None:
    changes = [
        user_change(1, "b@x.org", "delete"),
        user_change(1, "a@x.org", "create"),
        settings_change(1),
        AGENCY,
    ]
    provider = RecordingProvider()
    report = apply_changes(changes, provider, parallelism=1)
    assert report.succeeded
    assert provider.applied == [
        "agency.security",
        "account[1].settings",
        'account[1].user["a@x.org"]',
        'account[1].user["b@x.org"]',
    ]
    assert sorted(changes, key=execution_order)[0] is AGENCY


def test_failed_change_stops_only_its_dependents() -> None:
    changes = [
        AGENCY,
        notification_change(1, depends=True),
        notification_change(2, False),
        settings_change(1),
    ]
    provider = RecordingProvider(failing={"agency.security"})
    report = apply_changes(changes, provider, parallelism=4)
    outcomes = {r.change.address: (r.outcome, r.reason) for r in report.results}
    assert outcomes["agency.security"][0] == "failed"
    assert outcomes['account[1].notification["N1"]'] == (
        "skipped",
        "depends on agency.security, which was failed",
    )
    assert outcomes['account[2].notification["N1"]'][0] == "applied"
    assert outcomes["account[1].settings"][0] == "applied"
    assert not report.succeeded


def test_a_write_with_no_confirmed_outcome_is_unknown_not_failed() -> None:
    class Uncertain(RecordingProvider):
        def apply_change(self, change: Change) -> None:
            raise UncertainWriteError("no reply", status=503, endpoint="PUT /x")

    (result,) = apply_changes([settings_change(1)], Uncertain(), parallelism=1).results
    assert result.outcome == "unknown"
    assert result.reason is not None and result.reason.startswith("outcome unknown — run plan")


def test_dependency_outside_targets_is_skipped_with_reason() -> None:
    report = apply_changes(
        [notification_change(1, depends=True)], RecordingProvider(), parallelism=1
    )
    (result,) = report.results
    assert result.outcome == "skipped"
    assert result.reason == "depends on agency.security, which is outside --target"


def test_stop_starts_no_new_change() -> None:
    stop = threading.Event()
    changes = [settings_change(1), user_change(1, "a@x.org", "create")]
    provider = RecordingProvider(on_apply=lambda change: stop.set())
    report = apply_changes(changes, provider, parallelism=1, stop=stop)
    outcomes = [r.outcome for r in report.results]
    assert outcomes == ["applied", "not_started"]
    assert report.interrupted and not report.succeeded


def test_in_flight_change_past_the_grace_period_is_unknown() -> None:
    stop = threading.Event()
    release = threading.Event()
    ticks = iter(range(0, 1000, 3))  # each reading of the fake clock is 3 s later

    def hang(change: Change) -> None:
        stop.set()
        release.wait(timeout=2)

    report = apply_changes(
        [settings_change(1)],
        RecordingProvider(on_apply=hang),
        parallelism=1,
        stop=stop,
        clock=lambda: float(next(ticks)),
    )
    release.set()
    assert [r.outcome for r in report.results] == ["unknown"]


def test_a_hung_agency_change_gets_the_grace_period_too() -> None:
    # The agency change used to run on the calling thread, outside the grace period:
    # an interrupt waited for the hung write however long its HTTP timeouts took.
    stop = threading.Event()
    release = threading.Event()
    ticks = iter(range(0, 1000, 3))

    def hang(change: Change) -> None:
        stop.set()
        release.wait(timeout=5)

    report = apply_changes(
        [AGENCY, settings_change(1)],
        RecordingProvider(on_apply=hang),
        parallelism=1,
        stop=stop,
        clock=lambda: float(next(ticks)),
    )
    returned_while_hung = not release.is_set()
    release.set()
    assert returned_while_hung
    assert [r.outcome for r in report.results] == ["unknown", "not_started"]
    assert report.interrupted


def test_a_write_hung_past_the_grace_period_does_not_keep_the_process_alive() -> None:
    # Worker threads are daemons, so an interrupted apply exits after reporting the
    # write unknown instead of waiting for the interpreter to join a hung thread.
    stop = threading.Event()
    release = threading.Event()
    ticks = iter(range(0, 1000, 3))
    hung_threads: list[threading.Thread] = []

    def hang(change: Change) -> None:
        hung_threads.append(threading.current_thread())
        stop.set()
        release.wait(timeout=5)

    report = apply_changes(
        [settings_change(1)],
        RecordingProvider(on_apply=hang),
        parallelism=2,
        stop=stop,
        clock=lambda: float(next(ticks)),
    )
    daemons = [thread.daemon for thread in hung_threads]
    release.set()
    assert [r.outcome for r in report.results] == ["unknown"]
    assert daemons == [True]


class ListRecorder:
    """The change log as a list of (address, result) pairs."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def started(self, change: Change) -> None:
        self.records.append((change.address, "started"))

    def finished(self, change: Change, outcome: str, error: str | None) -> None:
        self.records.append((change.address, outcome))


def test_a_write_that_ends_after_the_report_keeps_the_outcome_the_report_gave() -> None:
    # The report called the hung write unknown; when the write ends later, neither the
    # log nor the report may say anything else, and nothing new starts.
    stop = threading.Event()
    release = threading.Event()
    ticks = iter(range(0, 1000, 3))
    hung: list[threading.Thread] = []

    def hang(change: Change) -> None:
        hung.append(threading.current_thread())
        stop.set()
        release.wait(timeout=5)

    recorder = ListRecorder()
    report = apply_changes(
        [settings_change(1), user_change(1, "a@x.org", "create")],
        RecordingProvider(on_apply=hang),
        parallelism=1,
        recorder=recorder,
        stop=stop,
        clock=lambda: float(next(ticks)),
    )
    release.set()
    hung[0].join(timeout=5)

    assert [r.outcome for r in report.results] == ["unknown", "not_started"]
    assert recorder.records == [
        ("account[1].settings", "started"),
        ("account[1].settings", "unknown"),
    ]


def test_a_change_the_log_cannot_announce_is_not_started_and_not_made() -> None:
    class BrokenLog(ListRecorder):
        def started(self, change: Change) -> None:
            raise AuditLogError("cannot write audit log: No space left on device")

    provider = RecordingProvider()
    (result,) = apply_changes(
        [settings_change(1)], provider, parallelism=1, recorder=BrokenLog()
    ).results
    assert result.outcome == "not_started"
    assert result.reason is not None and "No space left on device" in result.reason
    assert provider.applied == []


def test_an_outcome_the_log_cannot_record_is_reported_unknown_like_the_log_says() -> None:
    class FullAfterStart(ListRecorder):
        def finished(self, change: Change, outcome: str, error: str | None) -> None:
            raise AuditLogError("cannot write audit log: No space left on device")

    (result,) = apply_changes(
        [settings_change(1)], RecordingProvider(), parallelism=1, recorder=FullAfterStart()
    ).results
    assert result.outcome == "unknown"
    assert result.reason is not None and "No space left on device" in result.reason


def test_an_unexpected_error_is_unknown_and_the_account_goes_on() -> None:
    def explode(change: Change) -> None:
        if change.resource_type == "settings":
            raise KeyError("id")

    recorder = ListRecorder()
    report = apply_changes(
        [settings_change(1), user_change(1, "a@x.org", "create")],
        RecordingProvider(on_apply=explode),
        parallelism=1,
        recorder=recorder,
    )
    assert [r.outcome for r in report.results] == ["unknown", "applied"]
    assert ("account[1].settings", "unknown") in recorder.records


def test_an_interrupt_during_the_last_change_that_lets_it_finish_is_a_complete_apply() -> None:
    # QA: an interrupt while the last change was in flight, which then completed, was
    # reported "interrupted" (exit 1) though every change had been applied.
    from hipaactl.report.render.text import render_apply_report

    stop = threading.Event()
    changes = [settings_change(1), user_change(1, "a@x.org", "create")]

    def interrupt_during_the_last(change: Change) -> None:
        if change.address == changes[-1].address:
            stop.set()

    provider = RecordingProvider(on_apply=interrupt_during_the_last)
    report = apply_changes(changes, provider, parallelism=1, stop=stop)

    assert [r.outcome for r in report.results] == ["applied", "applied"]
    assert report.interrupted and report.succeeded
    assert render_apply_report(report).endswith(
        "Apply interrupted, but all 2 changes were applied: 2 applied, 0 failed, "
        "0 skipped, 0 not started, 0 unknown.\n"
    )
