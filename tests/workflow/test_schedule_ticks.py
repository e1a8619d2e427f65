"""Due ticks of a schedule, catchup, expire_interval and the concurrency policies, as pure
decisions with an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dagwire.server.workflow.errors import InvalidArgument
from dagwire.server.workflow.schedules import (
    ConcurrencyPolicy,
    Cron,
    Decision,
    Schedule,
    ScheduleStatus,
    apply_plan,
    decide,
    first_tick,
    plan_ticks,
    run_id_for,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def every_second(**overrides: object) -> Schedule:
    fields: dict[str, object] = {
        "schedule_id": "sch-00000001",
        "name": "tick",
        "pipeline_id": "ppl-1",
        "pipeline_version_id": "1",
        "username": "alice",
        "crontab": "* * * * * *",
        "create_time": T0,
        "update_time": T0,
        "next_run_time": at(1),
    }
    return Schedule(**(fields | overrides))  # type: ignore[arg-type]


# -- cron --------------------------------------------------------------------------------


def test_five_fields_tick_on_minutes() -> None:
    assert Cron.parse("*/5 * * * *").next_after(at(1)) == at(300)


def test_six_fields_put_seconds_first() -> None:
    cron = Cron.parse("*/10 * * * * *")
    assert cron.seconds_first
    assert cron.next_after(at(1)) == at(10)


def test_nicknames_are_accepted() -> None:
    assert Cron.parse("@hourly").next_after(T0) == at(3600)


def test_first_at_or_after_includes_the_moment_itself() -> None:
    cron = Cron.parse("* * * * * *")
    assert cron.first_at_or_after(at(3)) == at(3)
    assert cron.first_at_or_after(at(3.2)) == at(4)


@pytest.mark.parametrize(
    "crontab",
    [
        pytest.param("", id="empty"),
        pytest.param("* * * *", id="four-fields"),
        pytest.param("* * * * * * *", id="seven-fields"),
        pytest.param("61 * * * *", id="minute-out-of-range"),
        pytest.param("*/0 * * * *", id="zero-step"),
        pytest.param("@fortnightly", id="unknown-nickname"),
        pytest.param("a b c d e", id="words"),
    ],
)
def test_bad_crontabs_name_the_crontab_field(crontab: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Cron.parse(crontab)
    assert [v.field for v in caught.value.violations] == ["crontab"]


def test_first_tick_is_after_now_and_at_or_after_start() -> None:
    cron = Cron.parse("* * * * * *")
    assert first_tick(cron, None, at(0.5)) == at(1)
    assert first_tick(cron, at(10), at(0.5)) == at(10)
    # a start_time in the past does not backfill
    assert first_tick(cron, at(-100), at(0.5)) == at(1)


def test_run_ids_are_deterministic_per_tick() -> None:
    assert run_id_for("sch-0a1b2c3d", at(1)) == "sch-0a1b2c3d-20240501120001"
    assert run_id_for("sch-0a1b2c3d", at(1)) == run_id_for("sch-0a1b2c3d", at(1))


# -- concurrency decisions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "active", "expected"),
    [
        pytest.param(ConcurrencyPolicy.SUSPEND, 0, Decision.FIRE, id="suspend-free"),
        pytest.param(ConcurrencyPolicy.SUSPEND, 2, Decision.WAIT, id="suspend-full"),
        pytest.param(ConcurrencyPolicy.REPLACE, 1, Decision.FIRE, id="replace-free"),
        pytest.param(ConcurrencyPolicy.REPLACE, 2, Decision.REPLACE, id="replace-full"),
        pytest.param(ConcurrencyPolicy.SKIP, 1, Decision.FIRE, id="skip-free"),
        pytest.param(ConcurrencyPolicy.SKIP, 3, Decision.SKIP, id="skip-over"),
    ],
)
def test_a_tick_fires_below_the_limit_and_the_policy_decides_at_it(
    policy: ConcurrencyPolicy, active: int, expected: Decision
) -> None:
    assert decide(policy, active, concurrency=2) is expected


# -- plans --------------------------------------------------------------------------------


def test_nothing_is_due_before_the_next_tick() -> None:
    plan = plan_ticks(every_second(), now=at(0.9), active=0, resumed_at=T0)
    assert plan.fire == ()
    assert plan.next_run_time == at(1)
    assert not plan.changes


def test_every_due_tick_fires_once_and_next_run_time_moves_past_now() -> None:
    schedule = every_second(concurrency=10)
    plan = plan_ticks(schedule, now=at(3.5), active=0, resumed_at=T0)
    assert plan.fire == (at(1), at(2), at(3))
    assert plan.next_run_time == at(4)
    after = apply_plan(schedule, plan, at(3.5))
    assert after.next_run_time == at(4)
    assert plan_ticks(after, now=at(3.5), active=3, resumed_at=T0).fire == ()


def test_ticks_stop_at_end_time_and_the_schedule_succeeds() -> None:
    schedule = every_second(concurrency=10, end_time=at(2.5))
    plan = plan_ticks(schedule, now=at(5), active=0, resumed_at=T0)
    assert plan.fire == (at(1), at(2))
    assert plan.status is ScheduleStatus.SUCCEEDED
    assert plan.next_run_time is None
    assert apply_plan(schedule, plan, at(5)).status is ScheduleStatus.SUCCEEDED


def test_a_tick_at_end_time_still_fires() -> None:
    plan = plan_ticks(every_second(end_time=at(1)), now=at(1), active=0, resumed_at=T0)
    assert plan.fire == (at(1),)
    assert plan.status is ScheduleStatus.SUCCEEDED


def test_a_final_schedule_fires_nothing() -> None:
    schedule = every_second(status=ScheduleStatus.STOPPED, next_run_time=None)
    plan = plan_ticks(schedule, now=at(10), active=0, resumed_at=T0)
    assert plan.fire == ()
    assert apply_plan(schedule, plan, at(10)) is schedule


# catchup: the server was down from T0 until at(10)


def test_catchup_fires_every_tick_missed_while_down() -> None:
    schedule = every_second(catchup=True, concurrency=100)
    plan = plan_ticks(schedule, now=at(10.2), active=0, resumed_at=at(10))
    assert plan.fire == tuple(at(s) for s in range(1, 11))
    assert plan.next_run_time == at(11)


def test_without_catchup_missed_ticks_are_dropped_and_it_goes_on_from_the_next() -> None:
    schedule = every_second(catchup=False, concurrency=100)
    plan = plan_ticks(schedule, now=at(10.2), active=0, resumed_at=at(10))
    assert plan.fire == (at(10),)  # at resumption, not missed
    assert plan.dropped_before == at(10)
    assert plan.next_run_time == at(11)


def test_without_catchup_nothing_fires_until_the_first_tick_after_resumption() -> None:
    schedule = every_second(catchup=False, concurrency=100)
    plan = plan_ticks(schedule, now=at(10.5), active=0, resumed_at=at(10.5))
    assert plan.fire == ()
    assert plan.next_run_time == at(11)
    assert plan.changes


def test_catchup_with_expire_interval_recovers_only_recent_ticks() -> None:
    schedule = every_second(catchup=True, concurrency=100, expire_interval=3)
    plan = plan_ticks(schedule, now=at(10), active=0, resumed_at=at(10))
    assert plan.fire == (at(7), at(8), at(9), at(10))
    assert plan.dropped_before == at(7)


def test_catchup_honours_end_time() -> None:
    schedule = every_second(catchup=True, concurrency=100, end_time=at(4))
    plan = plan_ticks(schedule, now=at(10), active=0, resumed_at=at(10))
    assert plan.fire == (at(1), at(2), at(3), at(4))
    assert plan.status is ScheduleStatus.SUCCEEDED


def test_catchup_of_a_huge_gap_is_handled_in_bounded_slices() -> None:
    schedule = every_second(catchup=True, concurrency=1, concurrency_policy=ConcurrencyPolicy.SKIP)
    plan = plan_ticks(schedule, now=at(5000), active=0, resumed_at=at(5000), max_ticks=1000)
    assert plan.more
    assert plan.fire == (at(1),)
    assert len(plan.skipped) == 999
    assert plan.next_run_time == at(1001)
    assert plan.status is ScheduleStatus.ACTIVE


# policies at the limit


def test_suspend_holds_the_tick_without_dropping_it() -> None:
    schedule = every_second(concurrency=1, concurrency_policy=ConcurrencyPolicy.SUSPEND)
    plan = plan_ticks(schedule, now=at(3.5), active=1, resumed_at=T0)
    assert plan.fire == ()
    assert plan.held
    assert plan.next_run_time == at(1)
    assert not plan.changes
    # once the run finishes, the held tick fires, and the next ones wait for it
    later = plan_ticks(schedule, now=at(4.5), active=0, resumed_at=T0)
    assert later.fire == (at(1),)
    assert later.held
    assert later.next_run_time == at(2)


def test_suspend_fills_free_slots_then_holds() -> None:
    schedule = every_second(concurrency=3)
    plan = plan_ticks(schedule, now=at(5.5), active=1, resumed_at=T0)
    assert plan.fire == (at(1), at(2))
    assert plan.next_run_time == at(3)
    assert plan.held


def test_suspend_held_ticks_older_than_expire_interval_are_dropped() -> None:
    schedule = every_second(concurrency=1, expire_interval=2)
    plan = plan_ticks(schedule, now=at(10), active=0, resumed_at=T0)
    assert plan.fire == (at(8),)
    assert plan.next_run_time == at(9)


def test_skip_drops_the_tick_and_moves_on() -> None:
    schedule = every_second(concurrency=1, concurrency_policy=ConcurrencyPolicy.SKIP)
    plan = plan_ticks(schedule, now=at(1.1), active=1, resumed_at=T0)
    assert plan.fire == ()
    assert plan.skipped == (at(1),)
    assert plan.next_run_time == at(2)
    assert plan.changes


def test_skip_fires_up_to_the_limit_and_skips_the_rest() -> None:
    schedule = every_second(concurrency=2, concurrency_policy=ConcurrencyPolicy.SKIP)
    plan = plan_ticks(schedule, now=at(4), active=1, resumed_at=T0)
    assert plan.fire == (at(1),)
    assert plan.skipped == (at(2), at(3), at(4))


def test_replace_stops_the_oldest_active_run_then_fires() -> None:
    schedule = every_second(concurrency=1, concurrency_policy=ConcurrencyPolicy.REPLACE)
    plan = plan_ticks(schedule, now=at(1), active=1, resumed_at=T0)
    assert plan.fire == (at(1),)
    assert plan.stop_oldest == 1


def test_replace_below_the_limit_stops_nothing() -> None:
    schedule = every_second(concurrency=2, concurrency_policy=ConcurrencyPolicy.REPLACE)
    plan = plan_ticks(schedule, now=at(1), active=1, resumed_at=T0)
    assert plan.fire == (at(1),)
    assert plan.stop_oldest == 0


def test_replace_in_a_catchup_keeps_only_the_newest_ticks() -> None:
    schedule = every_second(
        concurrency=2, concurrency_policy=ConcurrencyPolicy.REPLACE, catchup=True
    )
    plan = plan_ticks(schedule, now=at(5), active=1, resumed_at=at(5))
    assert plan.fire == (at(4), at(5))
    assert plan.skipped == (at(1), at(2), at(3))
    assert plan.stop_oldest == 1


def test_replace_stops_only_as_many_as_needed() -> None:
    schedule = every_second(concurrency=3, concurrency_policy=ConcurrencyPolicy.REPLACE)
    plan = plan_ticks(schedule, now=at(2), active=3, resumed_at=T0)
    assert plan.fire == (at(1), at(2))
    assert plan.stop_oldest == 2


def test_the_plan_leaves_the_schedule_untouched_when_nothing_happens() -> None:
    schedule = every_second()
    plan = plan_ticks(schedule, now=at(0.5), active=0, resumed_at=T0)
    assert apply_plan(schedule, plan, at(0.5)) is schedule
    changed = apply_plan(schedule, plan_ticks(schedule, at(1), 0, T0), at(1))
    assert changed == replace(schedule, next_run_time=at(2), update_time=at(1))
