"""Schedules: cron ticks of a pipeline version, as pure values and decisions.

Nothing here does I/O or reads a clock; every function that needs the time is given
`now`. Ticks are computed in UTC by croniter from a five-field crontab (minute first) or
a six-field one (seconds first), or an `@hourly`-style nickname.

A schedule's life, PaddleFlow's semantics:

- The first tick is the first one at or after `start_time` (default: creation), and
  never before creation; ticks after `end_time` never fire. Once no tick is left before
  `end_time` the schedule has SUCCEEDED.
- `next_run_time` is the oldest tick not handled yet. A pass of the scheduler handles
  every tick up to `now` (`plan_ticks`) and then advances it.
- When `concurrency` runs are active at a tick, the policy decides (`decide`): SUSPEND
  holds the tick (and every later one) until a run finishes, REPLACE stops the oldest
  active runs and fires, SKIP drops the tick.
- Ticks that fell while the server was down (before `resumed_at`) are fired when it
  comes back only with `catchup`; without it they are dropped and the schedule goes on
  from the next future tick. With `expire_interval` > 0, an overdue tick older than that
  many seconds is dropped, whether it was missed while the server was down or held by
  SUSPEND.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from croniter import croniter
from croniter.croniter import CroniterError

from dagwire.server.engine import listing
from dagwire.server.engine.listing import Listing
from dagwire.server.workflow.errors import FieldViolation, InvalidArgument

DEFAULT_CONCURRENCY = 1
MAX_CONCURRENCY = 100
MAX_NAME_LENGTH = 63
MAX_DESCRIPTION_LENGTH = 1024
MAX_PARAMETERS = 100
MAX_EXPIRE_INTERVAL = 10 * 366 * 24 * 3600
DEFAULT_USERNAME = "default"
# Ticks one pass handles at most, so that a long catchup never holds the event loop;
# the pass reports `more` and the scheduler comes back at once.
MAX_TICKS_PER_PASS = 1_000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_NICKNAMES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly"})
_ONE_MICROSECOND = timedelta(microseconds=1)


class ConcurrencyPolicy(StrEnum):
    SUSPEND = "suspend"
    REPLACE = "replace"
    SKIP = "skip"


class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self is not ScheduleStatus.ACTIVE


class Decision(StrEnum):
    """What one due tick does, given the runs active at it."""

    FIRE = "fire"
    WAIT = "wait"  # suspend: hold the tick until a run finishes
    REPLACE = "replace"  # stop the oldest active run, then fire
    SKIP = "skip"  # drop the tick


_AT_LIMIT: Mapping[ConcurrencyPolicy, Decision] = {
    ConcurrencyPolicy.SUSPEND: Decision.WAIT,
    ConcurrencyPolicy.REPLACE: Decision.REPLACE,
    ConcurrencyPolicy.SKIP: Decision.SKIP,
}


def decide(policy: ConcurrencyPolicy, active: int, concurrency: int) -> Decision:
    """A tick fires while fewer than `concurrency` runs are active; at the limit the
    policy says what it does."""
    return Decision.FIRE if active < concurrency else _AT_LIMIT[policy]


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed crontab. Six fields put the seconds first."""

    expression: str
    seconds_first: bool

    @classmethod
    def parse(cls, text: str, field_name: str = "crontab") -> Cron:
        expression = " ".join(text.split())
        if not expression:
            raise InvalidArgument.of(field_name, "is required, e.g. '*/5 * * * *'")
        count = len(expression.split(" "))
        if expression.startswith("@"):
            if expression.lower() not in _NICKNAMES:
                raise InvalidArgument.of(
                    field_name,
                    f"unknown nickname {expression!r}; use one of {', '.join(sorted(_NICKNAMES))}",
                )
        elif count not in (5, 6):
            raise InvalidArgument.of(
                field_name,
                f"has {count} fields; give five (minute hour day month weekday) or six "
                f"(second minute hour day month weekday), got {text!r}",
            )
        cron = cls(expression, seconds_first=count == 6)
        try:
            croniter(cron.expression, datetime(2000, 1, 1, tzinfo=UTC), **cron._options())
        except (CroniterError, ValueError, KeyError) as error:
            raise InvalidArgument.of(
                field_name, f"is not a valid cron expression ({error}): {text!r}"
            ) from None
        return cron

    def _options(self) -> dict[str, Any]:
        return {"second_at_beginning": True} if self.seconds_first else {}

    def after(self, moment: datetime) -> Iterator[datetime]:
        """The ticks strictly after `moment`, in order; ends if none is left."""
        iterator = croniter(self.expression, moment, **self._options())
        while True:
            try:
                tick = iterator.get_next(datetime)
            except CroniterError:
                return
            yield tick.astimezone(UTC)

    def next_after(self, moment: datetime) -> datetime | None:
        return next(self.after(moment), None)

    def first_at_or_after(self, moment: datetime) -> datetime | None:
        return self.next_after(moment - _ONE_MICROSECOND)


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    """What CreateSchedule asks for, as given (zero values mean unset)."""

    name: str
    pipeline_id: str
    crontab: str
    pipeline_version_id: str = ""
    description: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    concurrency: int = 0
    concurrency_policy: ConcurrencyPolicy | None = None
    expire_interval: int = 0
    catchup: bool = False
    username: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule. Immutable: changes make a new value (`dataclasses.replace`)."""

    schedule_id: str
    name: str
    pipeline_id: str
    pipeline_version_id: str
    username: str
    crontab: str
    create_time: datetime
    update_time: datetime
    description: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.SUSPEND
    expire_interval: int = 0
    catchup: bool = False
    parameters: Mapping[str, str] = field(default_factory=dict)
    status: ScheduleStatus = ScheduleStatus.ACTIVE
    next_run_time: datetime | None = None
    message: str = ""
    request_id: str = ""
    # Bumped by the store at every write; updates check it (optimistic concurrency).
    version: int = 0
    # The domain that created it ("" an operator); its runs belong to that domain too.
    # Kept in the store's column, not the document.
    owner: str = ""

    @property
    def cron(self) -> Cron:
        return Cron.parse(self.crontab)


def validate_request(request: ScheduleRequest, now: datetime) -> ScheduleRequest:
    """Every problem of a create request at once, as field violations; the request with
    its defaults filled in otherwise (concurrency 1, suspend, user "default")."""
    problems: list[FieldViolation] = []

    def check(ok: bool, field_name: str, description: str) -> None:
        if not ok:
            problems.append(FieldViolation(field_name, description))

    check(bool(request.name), "name", "is required")
    check(
        not request.name
        or (len(request.name) <= MAX_NAME_LENGTH and bool(_NAME.match(request.name))),
        "name",
        f"must start with a letter or digit followed by letters, digits, '_', '-' or '.' "
        f"(at most {MAX_NAME_LENGTH} characters), got {request.name!r}",
    )
    check(
        len(request.description) <= MAX_DESCRIPTION_LENGTH,
        "description",
        f"is longer than {MAX_DESCRIPTION_LENGTH} characters",
    )
    check(bool(request.pipeline_id), "pipeline_id", "is required")
    cron: Cron | None = None
    try:
        cron = Cron.parse(request.crontab)
    except InvalidArgument as error:
        problems.extend(error.violations)
    check(
        0 <= request.concurrency <= MAX_CONCURRENCY,
        "concurrency",
        f"must be between 1 and {MAX_CONCURRENCY} (0 means {DEFAULT_CONCURRENCY}), "
        f"got {request.concurrency}",
    )
    check(
        0 <= request.expire_interval <= MAX_EXPIRE_INTERVAL,
        "expire_interval",
        f"must be between 0 (no limit) and {MAX_EXPIRE_INTERVAL} seconds, "
        f"got {request.expire_interval}",
    )
    check(
        len(request.parameters) <= MAX_PARAMETERS,
        "parameters",
        f"has more than {MAX_PARAMETERS} entries",
    )
    for key in request.parameters:
        check(bool(key), "parameters", "a parameter name must not be empty")
    if request.end_time is not None:
        check(
            request.end_time > now,
            "end_time",
            f"{_format(request.end_time)} is not in the future (now {_format(now)})",
        )
        if request.start_time is not None:
            check(
                request.end_time > request.start_time,
                "end_time",
                f"{_format(request.end_time)} is not after start_time "
                f"{_format(request.start_time)}",
            )
    if cron is not None and not problems:
        first = first_tick(cron, request.start_time, now)
        if first is None:
            problems.append(FieldViolation("crontab", f"{request.crontab!r} never fires"))
        elif request.end_time is not None and first > request.end_time:
            problems.append(
                FieldViolation(
                    "end_time",
                    f"no tick of {request.crontab!r} falls before it: the first is "
                    f"{_format(first)}",
                )
            )
    if problems:
        raise InvalidArgument(problems)
    return replace(
        request,
        concurrency=request.concurrency or DEFAULT_CONCURRENCY,
        concurrency_policy=request.concurrency_policy or ConcurrencyPolicy.SUSPEND,
        username=request.username or DEFAULT_USERNAME,
    )


def first_tick(cron: Cron, start_time: datetime | None, now: datetime) -> datetime | None:
    """The first tick of a new schedule: at or after start_time, and after now (a
    start_time in the past does not backfill)."""
    if start_time is not None and start_time > now:
        return cron.first_at_or_after(start_time)
    return cron.next_after(now)


def new_schedule(
    request: ScheduleRequest, schedule_id: str, pipeline_version_id: str, now: datetime
) -> Schedule:
    """The schedule a validated request creates, with its first tick."""
    cron = Cron.parse(request.crontab)
    return Schedule(
        schedule_id=schedule_id,
        name=request.name,
        description=request.description,
        pipeline_id=request.pipeline_id,
        pipeline_version_id=pipeline_version_id,
        username=request.username or DEFAULT_USERNAME,
        crontab=cron.expression,
        start_time=request.start_time,
        end_time=request.end_time,
        concurrency=request.concurrency or DEFAULT_CONCURRENCY,
        concurrency_policy=request.concurrency_policy or ConcurrencyPolicy.SUSPEND,
        expire_interval=request.expire_interval,
        catchup=request.catchup,
        parameters=dict(request.parameters),
        create_time=now,
        update_time=now,
        next_run_time=first_tick(cron, request.start_time, now),
        request_id=request.request_id,
    )


def stop(schedule: Schedule, now: datetime) -> Schedule:
    """A user stops an active schedule for good."""
    return replace(
        schedule,
        status=ScheduleStatus.STOPPED,
        next_run_time=None,
        message="stopped by a user",
        update_time=now,
    )


def fail(schedule: Schedule, message: str, now: datetime) -> Schedule:
    return replace(
        schedule,
        status=ScheduleStatus.FAILED,
        next_run_time=None,
        message=message,
        update_time=now,
    )


def run_id_for(schedule_id: str, tick: datetime) -> str:
    """The run a tick creates: deterministic, so that a tick fires once however often
    it is handled (after a crash, by two replicas)."""
    return f"{schedule_id}-{tick.astimezone(UTC):%Y%m%d%H%M%S}"


@dataclass(frozen=True, slots=True)
class TickPlan:
    """What a pass does for one schedule: stop `stop_oldest` of its active runs (oldest
    first), start a run for every tick of `fire`, then store `next_run_time` and
    `status`."""

    fire: tuple[datetime, ...] = ()
    stop_oldest: int = 0
    skipped: tuple[datetime, ...] = ()  # dropped by SKIP, or replaced within the pass
    dropped_before: datetime | None = None  # overdue ticks before this were dropped
    next_run_time: datetime | None = None
    status: ScheduleStatus = ScheduleStatus.ACTIVE
    message: str = ""
    held: bool = False  # next_run_time is due and waits for a free slot (SUSPEND)
    more: bool = False  # the pass stopped at MAX_TICKS_PER_PASS; due ticks remain

    @property
    def changes(self) -> bool:
        return bool(self.fire or self.skipped or self.dropped_before) or (
            self.status is not ScheduleStatus.ACTIVE
        )


def plan_ticks(
    schedule: Schedule,
    now: datetime,
    active: int,
    resumed_at: datetime,
    *,
    max_ticks: int = MAX_TICKS_PER_PASS,
) -> TickPlan:
    """Decide every tick of `schedule` due at `now`, with `active` of its runs active.
    Ticks before `resumed_at` (when this server started) were missed while it was down."""
    tick = schedule.next_run_time
    if schedule.status.is_final or tick is None:
        return TickPlan(next_run_time=tick, status=schedule.status, message=schedule.message)
    cron = schedule.cron
    dropped_before: datetime | None = None
    if not schedule.catchup and tick < resumed_at:
        dropped_before = resumed_at
        tick = cron.first_at_or_after(resumed_at)
    if tick is not None and schedule.expire_interval > 0:
        horizon = now - timedelta(seconds=schedule.expire_interval)
        if tick < horizon:
            dropped_before = max(horizon, dropped_before or horizon)
            tick = cron.first_at_or_after(horizon)
    fire: list[datetime] = []
    skipped: list[datetime] = []
    count, handled, held, more = active, 0, False, False
    end = schedule.end_time
    while tick is not None and tick <= now and (end is None or tick <= end):
        if handled >= max_ticks:
            more = True
            break
        decision = decide(schedule.concurrency_policy, count, schedule.concurrency)
        if decision is Decision.WAIT:
            held = True
            break
        if decision is Decision.SKIP:
            skipped.append(tick)
        else:
            fire.append(tick)
            count += 1
        handled += 1
        tick = cron.next_after(tick)
    stop_oldest = 0
    if schedule.concurrency_policy is ConcurrencyPolicy.REPLACE:
        fire, replaced, stop_oldest = _replace(fire, active, schedule.concurrency)
        skipped.extend(replaced)
        skipped.sort()
    status, message, next_run_time = ScheduleStatus.ACTIVE, schedule.message, tick
    if not held and not more and (tick is None or (end is not None and tick > end)):
        status, next_run_time = ScheduleStatus.SUCCEEDED, None
        message = f"no tick of {schedule.crontab!r} is left" if tick is None else "end_time reached"
    return TickPlan(
        fire=tuple(fire),
        stop_oldest=stop_oldest,
        skipped=tuple(skipped),
        dropped_before=dropped_before,
        next_run_time=next_run_time,
        status=status,
        message=message,
        held=held,
        more=more,
    )


def _replace(
    fire: list[datetime], active: int, concurrency: int
) -> tuple[list[datetime], list[datetime], int]:
    """REPLACE keeps the newest `concurrency` runs: stop what is too many among the
    active ones (oldest first); ticks of this pass that would be replaced at once are
    not fired at all."""
    if active + len(fire) <= concurrency:
        return fire, [], 0
    if len(fire) >= concurrency:
        return fire[len(fire) - concurrency :], fire[: len(fire) - concurrency], active
    return fire, [], active + len(fire) - concurrency


def apply_plan(schedule: Schedule, plan: TickPlan, now: datetime) -> Schedule:
    """The schedule after its plan was carried out."""
    if schedule.status.is_final:
        return schedule
    if not plan.changes and plan.next_run_time == schedule.next_run_time:
        return schedule
    return replace(
        schedule,
        next_run_time=plan.next_run_time,
        status=plan.status,
        message=plan.message,
        update_time=now,
    )


# -- listing --------------------------------------------------------------------------

FILTER_KEYS = frozenset(
    {"schedule_id", "username", "pipeline_id", "pipeline_version_id", "name", "status"}
)


@dataclass(frozen=True, slots=True)
class ScheduleFilter:
    """ListSchedules' filter: each set key must match exactly."""

    schedule_id: str | None = None
    username: str | None = None
    pipeline_id: str | None = None
    pipeline_version_id: str | None = None
    name: str | None = None
    status: ScheduleStatus | None = None


def parse_filter(text: str) -> ScheduleFilter:
    """The listing grammar (engine.listing) over keys schedule_id, username, pipeline_id,
    pipeline_version_id, name, status (active, stopped, succeeded, failed)."""
    where: dict[str, Any] = listing.parse_filter(
        text, FILTER_KEYS, {"status": [status.value for status in ScheduleStatus]}
    )
    if "status" in where:
        where["status"] = ScheduleStatus(where["status"])
    return ScheduleFilter(**where)


@dataclass(frozen=True, slots=True)
class PageRequest:
    size: int
    after: tuple[datetime, str] | None  # (create_time, schedule_id) of the last one seen


def page_request(page_size: int, page_token: str, filter_text: str) -> PageRequest:
    """A page size (default 100, larger ones coerced to 1000) and the position a token
    encodes. A token only continues the listing (same filter) that made it."""
    if page_size < 0:
        raise InvalidArgument.of("page_size", f"must not be negative, got {page_size}")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    cursor = listing.page_cursor(Listing.SCHEDULES, page_token, filter_text)
    if cursor is None:
        return PageRequest(size, None)
    try:
        time_text, schedule_id = cursor
        after = (datetime.fromisoformat(str(time_text)), str(schedule_id))
    except ValueError:
        raise InvalidArgument.of(
            "page_token", "is not a token this server handed out; list again without it"
        ) from None
    return PageRequest(size, after)


def page_token(last: Schedule, filter_text: str) -> str:
    cursor = (last.create_time.isoformat(), last.schedule_id)
    return listing.page_token(Listing.SCHEDULES, cursor, filter_text)


# -- storage documents ----------------------------------------------------------------


def schedule_to_doc(schedule: Schedule) -> dict[str, Any]:
    """A JSON-ready document of everything but the version (the store keeps that)."""
    return {
        "schedule_id": schedule.schedule_id,
        "name": schedule.name,
        "description": schedule.description,
        "pipeline_id": schedule.pipeline_id,
        "pipeline_version_id": schedule.pipeline_version_id,
        "username": schedule.username,
        "crontab": schedule.crontab,
        "start_time": _time_or_none(schedule.start_time),
        "end_time": _time_or_none(schedule.end_time),
        "concurrency": schedule.concurrency,
        "concurrency_policy": schedule.concurrency_policy.value,
        "expire_interval": schedule.expire_interval,
        "catchup": schedule.catchup,
        "parameters": dict(schedule.parameters),
        "status": schedule.status.value,
        "next_run_time": _time_or_none(schedule.next_run_time),
        "message": schedule.message,
        "create_time": schedule.create_time.isoformat(),
        "update_time": schedule.update_time.isoformat(),
        "request_id": schedule.request_id,
    }


def schedule_from_doc(doc: Mapping[str, Any], version: int) -> Schedule:
    return Schedule(
        schedule_id=doc["schedule_id"],
        name=doc["name"],
        description=doc.get("description", ""),
        pipeline_id=doc["pipeline_id"],
        pipeline_version_id=doc["pipeline_version_id"],
        username=doc["username"],
        crontab=doc["crontab"],
        start_time=_parse_or_none(doc.get("start_time")),
        end_time=_parse_or_none(doc.get("end_time")),
        concurrency=int(doc.get("concurrency", DEFAULT_CONCURRENCY)),
        concurrency_policy=ConcurrencyPolicy(doc.get("concurrency_policy", "suspend")),
        expire_interval=int(doc.get("expire_interval", 0)),
        catchup=bool(doc.get("catchup", False)),
        parameters=dict(doc.get("parameters", {})),
        status=ScheduleStatus(doc["status"]),
        next_run_time=_parse_or_none(doc.get("next_run_time")),
        message=doc.get("message", ""),
        create_time=datetime.fromisoformat(doc["create_time"]),
        update_time=datetime.fromisoformat(doc["update_time"]),
        request_id=doc.get("request_id", ""),
        version=version,
    )


def _time_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
