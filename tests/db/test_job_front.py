"""Move to front (`x121_move_job_to_front`, revision 0012) against the claim's real order.

The claim order (docs/QUEUE.md, `job_dispatch.fair_share_sql`) is: priority bands, then fair share
by turn, and inside one owner's band batches oldest first, the largest estimated work first inside
a batch. Queues are built with batches whose id order differs from that order (a job inserted
later into the same batch with more work is claimed before it), the job is moved as its owner Carl
(a creator login) or by an admin, and then:
- the real claims (`jobs.claim`, one at a time in a transaction that is rolled back) take the moved
  job first of Carl's jobs, and not before the slot Carl's first job had;
- by the ranking of `fair_share_sql` no other user's job has more of Carl's jobs ahead of it than
  before (ahead = a higher band, or the same band and an earlier turn).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.db.job_rights_studio import MakeJob, Rights, made_jobs, rights
from tests.db.security_studio import SUPERUSER, secure_studio
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.db.repositories.job_dispatch import fair_share_sql, run

__all__ = ["made_jobs", "rights", "secure_studio"]

LEASE = timedelta(seconds=30)
T0 = "2030-01-01 00:00:00+00"


def _at(minutes: int) -> str:
    return f"2030-01-01 00:{minutes:02d}:00+00"


def _claim_order(x: Rights) -> list[int]:
    """Every queued job in the order real claims take them (nothing is kept)."""
    order: list[int] = []
    with x.engine(SUPERUSER).connect() as conn:
        tx = conn.begin()
        while claimed := repo.claim(conn, "order:1:probe", LEASE):
            order.append(int(claimed[0].id))
        tx.rollback()
    return order


def _slots(x: Rights) -> dict[int, tuple[int, int, int]]:
    """Job id -> (owner, priority, turn) of every queued job, as the claim ranks them."""
    with x.engine(SUPERUSER).connect() as conn:
        ranked = run(conn, fair_share_sql(200) + " SELECT id, priority, turn FROM ranked")
        owners = dict(run(conn, "SELECT id, owner_id FROM jobs WHERE job_status_id = 1"))
    return {int(i): (int(owners[i]), int(p), int(t)) for i, p, t in ranked}


def _ahead(slots: dict[int, tuple[int, int, int]], owner: int) -> dict[int, int]:
    """For each job of another owner: how many of `owner`'s jobs rank strictly ahead of it."""
    mine = [(p, t) for o, p, t in slots.values() if o == owner]
    return {
        job: sum(1 for p, t in mine if p > prio or (p == prio and t < turn))
        for job, (o, prio, turn) in slots.items()
        if o != owner
    }


def _move(x: Rights, who: str, job: int) -> int:
    with x.engine(who).begin() as conn:
        return int(repo.call_guarded(conn, "SELECT x121_move_job_to_front(:id)", {"id": job}, job))


def _check_first_without_passing(
    x: Rights, mover: int, job: int, before_order: list[int], before: dict[int, int]
) -> None:
    after_order = _claim_order(x)
    owners = {i: o for i, (o, _, _) in _slots(x).items()}
    carls_after = [i for i in after_order if owners[i] == mover]
    assert carls_after[0] == job  # claimed first of its owner's jobs
    first_before = next(i for i in before_order if owners[i] == mover)
    assert after_order.index(job) >= before_order.index(first_before)  # it took its owner's first slot, no earlier
    after = _ahead(_slots(x), mover)
    passed = {j: (before[j], after[j]) for j in after if after[j] > before[j]}
    assert passed == {}  # no other user's job has more of the owner's jobs ahead of it


def test_the_moved_job_is_claimed_first_of_its_owners_in_batch_order(rights: Rights, made_jobs: MakeJob) -> None:
    carl = rights.user_id("carl")
    c1 = made_jobs("carl", work=10, created_at=T0)
    c2 = made_jobs("carl", work=50, created_at=T0)
    for n in range(2):
        made_jobs("admin", work=20, created_at=_at(1 + n))
    moved = made_jobs("carl", work=30, created_at=_at(5))  # inserted before c4 in its batch...
    c4 = made_jobs("carl", work=100, created_at=_at(5))  # ...which the claim takes first: more work
    c3 = made_jobs("carl", work=5, created_at=_at(5))
    for _ in range(3):
        made_jobs("reviewer2", work=40, created_at=_at(6))
    before_order, before = _claim_order(rights), _ahead(_slots(rights), carl)
    assert [i for i in before_order if i in (c1, c2, c3, c4, moved)] == [c2, c1, c4, moved, c3]
    assert c4 > moved  # an id-order rule would have left c4 ahead of it
    assert _move(rights, "carl", moved) == 0
    _check_first_without_passing(rights, carl, moved, before_order, before)
    priorities = {j: rights.one("SELECT priority FROM jobs WHERE id = %s", j) for j in (c1, c2, c3, c4, moved)}
    assert priorities == {c1: -1, c2: -1, c4: -1, moved: 0, c3: 0}
    assert _move(rights, "carl", moved) == 0  # already first: nothing changes
    assert rights.one("SELECT priority FROM jobs WHERE id = %s", c3) == 0


def test_a_job_raised_from_a_lower_band_swaps_places_and_passes_nobody(rights: Rights, made_jobs: MakeJob) -> None:
    carl = rights.user_id("carl")
    moved = made_jobs("carl", priority=0, work=10, created_at=T0)  # an older batch than Carl's raised jobs
    high1 = made_jobs("carl", priority=2, work=10, created_at=_at(2))  # raised by an admin earlier
    high2 = made_jobs("carl", priority=2, work=10, created_at=_at(3))
    made_jobs("admin", priority=2, work=10, created_at=_at(1))
    middle = made_jobs("reviewer2", priority=1, work=10, created_at=_at(1))  # a band in between
    made_jobs("reviewer2", priority=0, work=10, created_at=_at(1))
    made_jobs("carl", priority=0, work=10, created_at=_at(4))
    before_order, before = _claim_order(rights), _ahead(_slots(rights), carl)
    assert _move(rights, "carl", moved) == 2
    _check_first_without_passing(rights, carl, moved, before_order, before)
    assert _ahead(_slots(rights), carl)[middle] == 2  # still exactly Carl's two top-band jobs ahead of it
    assert (rights.one("SELECT priority FROM jobs WHERE id = %s", high1),
            rights.one("SELECT priority FROM jobs WHERE id = %s", high2)) == (2, 0)  # fmt: skip
    with rights.engine("carl").connect() as conn:
        texts = [e.data.get("message") for e in repo.job_events(conn, high2)]
    assert texts[-1] == f"Stepped down behind job {moved}"


def test_an_admin_moves_any_job_to_the_front_of_the_whole_queue(rights: Rights, made_jobs: MakeJob) -> None:
    for n in range(3):
        made_jobs("carl", priority=1, created_at=_at(n))
    late = made_jobs("reviewer2", priority=0, created_at=_at(9))
    with pytest.raises(PermissionDenied, match="belongs to another user, so you cannot move it"):
        _move(rights, "carl", late)
    assert _move(rights, "admin", late) == 2
    assert _claim_order(rights)[0] == late


def test_only_a_queued_job_moves(rights: Rights, made_jobs: MakeJob) -> None:
    job = made_jobs("carl")
    with rights.engine("carl").begin() as conn:
        repo.request_cancel(conn, job)
    with pytest.raises(InvalidInput) as refused:
        _move(rights, "carl", job)
    assert refused.value.sentence == (
        f"Job {job} is cancelled; only a queued job can be moved to the front. "
        "Pick a job that is still waiting in the queue"
    )
