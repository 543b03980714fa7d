"""Identity at a seam: the glue between stitching and core.likeness.

Degraded results (documented, never an exception):

* no face in either seam frame → ``IdentityCheck`` with all distances None and a reason
  "no face found in …"; identity is left out of the grade.
* a face in the last frame of N but none in the first frame of N+1 → the face was lost at the cut:
  graded **amber** (value NaN, score 0.5) with the reason, because a subject that vanishes on a cut
  needs a look but may be intended (the person walks out of frame).
* a face in the head but none in the tail → measured against Seed A when given, else not graded.
"""

from __future__ import annotations

import math

from x121_desktop.core.likeness.faces import FaceObservation, IdentityReference, observe_face
from x121_desktop.core.stitching.frames import Frame
from x121_desktop.core.stitching.report import IdentityCheck, MetricGrade
from x121_desktop.core.stitching.score import Band, Grade, SeamMetric

FACE_LOST_SCORE = 0.5


def check_identity(tail_frame: Frame, head_frame: Frame, reference: IdentityReference | None) -> IdentityCheck:
    """Faces of the two seam frames compared with Seed A (or with each other without a seed)."""
    tail = observe_face(tail_frame)
    head = observe_face(head_frame)
    across = tail.distance_to(head) if tail is not None and head is not None else None

    def to_ref(seen: FaceObservation | None) -> float | None:
        if seen is None:
            return None
        if reference is not None:
            return seen.distance_to(reference)
        return None

    if reference is not None:
        tail_d, head_d, ref = to_ref(tail), to_ref(head), "seed"
    else:
        tail_d, head_d, ref = (0.0 if tail is not None else None), across, "tail"

    reason = ""
    if tail is None and head is None:
        reason = "no face found in the last frame of the segment or the first frame of the next; identity not measured"
    elif head is None:
        reason = "no face found in the first frame of the next segment (the face was lost at the cut)"
    elif tail is None:
        reason = "no face found in the last frame of the segment" + (
            "; the next segment is compared with the seed only" if reference is not None else "; identity not measured"
        )
    return IdentityCheck(
        reference=ref,
        tail_distance=tail_d,
        head_distance=head_d,
        across_distance=across,
        tail_box=tail.box if tail is not None else None,
        head_box=head.box if head is not None else None,
        reason=reason,
    )


def grade_identity(check: IdentityCheck, band: Band) -> MetricGrade | None:
    """The identity grade, or None when identity could not be measured."""
    if check.head_distance is not None:
        value = check.head_distance
        grade = band.grade(value)
        who = "Seed A" if check.reference == "seed" else "the previous segment's face"
        detail = f"identity: face distance {value:.2f} to {who} (same person below 0.60)"
        return MetricGrade(SeamMetric.IDENTITY, value, grade, band.score(value), detail)
    if check.tail_box is not None and check.head_box is None:
        return MetricGrade(SeamMetric.IDENTITY, math.nan, Grade.AMBER, FACE_LOST_SCORE, f"identity: {check.reason}")
    return None
