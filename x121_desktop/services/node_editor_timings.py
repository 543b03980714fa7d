"""Historical node times for the editor's hover text: the average seconds per node type across every
recorded run on every server (`node_timings`, written by the job runner for each executed node)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from x121_desktop.db.models.jobs import NodeTiming
from x121_desktop.services.workflows import workflow_transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from x121_desktop.services.runtime import Runtime


def _averages(session: Session, class_types: tuple[str, ...]) -> dict[str, tuple[float, int]]:
    rows = session.execute(
        select(NodeTiming.class_type, func.avg(NodeTiming.seconds), func.count())
        .where(NodeTiming.class_type.in_(class_types))
        .group_by(NodeTiming.class_type)
    ).all()
    return {str(c): (float(a), int(n)) for c, a, n in rows}


class NodeTimingsService:
    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime) -> None:
        self._sessions, self._runtime = sessions, runtime

    async def averages(self, class_types: Iterable[str]) -> Mapping[str, float]:
        """class_type → mean seconds over all recorded runs and servers (types never timed are left out)."""
        wanted = tuple(sorted(set(class_types)))
        if not wanted:
            return {}
        found = await self._runtime.run(
            self._runtime.db_read,
            workflow_transaction,
            self._sessions,
            "read the node timings",
            lambda s: _averages(s, wanted),
        )
        return {c: mean for c, (mean, _n) in found.items()}
