"""PeerWaiting: a federation peer that cannot be reached shows on its domain's unfinished
parties, and nothing else of the job changes."""

from __future__ import annotations

from dagwire.server.engine import reducer as r
from dagwire.server.engine.model import JobState, PartyState
from tests.engine.factories import at, spec, task

WAIT = "waiting for peer bob: unreachable since 2026-01-01T00:00:00Z"


def _job() -> r.Outcome:
    return r.create_job(
        spec(task("a", parties=("alice", "bob")), task("b", "a", parties=("alice", "bob"))),
        at(0),
        frozenset(),
    )


def test_the_peer_s_unfinished_parties_say_why_they_wait_and_stop_saying_it() -> None:
    job = _job().job
    waiting = r.apply(job, r.PeerWaiting("bob", WAIT), at(1)).job
    for t in waiting.tasks:
        assert {p.domain_id: p.err_msg for p in t.parties} == {"alice": "", "bob": WAIT}
    assert (waiting.state, [t.state for t in waiting.tasks]) == (
        job.state,
        [t.state for t in job.tasks],
    )
    assert r.apply(waiting, r.PeerWaiting("bob", WAIT), at(2)).job is waiting  # no change
    back = r.apply(waiting, r.PeerWaiting("bob", ""), at(3)).job
    assert all(p.err_msg == "" for t in back.tasks for p in t.parties)


def test_a_finished_party_or_a_finished_job_is_left_alone() -> None:
    job = _job().job
    done = r.apply(job, r.ProcessStarted("a", 1, "bob"), at(1)).job
    done = r.apply(done, r.ProcessExited("a", 1, "bob", 0), at(2)).job
    assert done.task("a").party("bob").state is PartyState.SUCCEEDED  # type: ignore[union-attr]
    noted = r.apply(done, r.PeerWaiting("bob", WAIT), at(3)).job
    assert noted.task("a").party("bob").err_msg == ""  # type: ignore[union-attr]
    assert noted.task("b").party("bob").err_msg == WAIT  # type: ignore[union-attr]
    stopped = r.apply(job, r.Stop("enough"), at(4)).job
    assert stopped.state is JobState.FAILED
    assert r.apply(stopped, r.PeerWaiting("bob", WAIT), at(5)).job is stopped
