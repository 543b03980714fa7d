"""What `x121 scene|segment|take …` print: a scene's chain as text, or as JSON (`--json`)."""

from __future__ import annotations

from typing import Any

from x121_desktop.cli.output import print_json
from x121_desktop.services.scene_director import AdvanceReport
from x121_desktop.services.scenes import SceneView


def view_json(view: SceneView, report: AdvanceReport | None = None) -> dict[str, Any]:
    scene = view.scene
    data: dict[str, Any] = {
        "id": scene.id, "ref": str(scene.ref), "status": scene.status.code, "workflow": scene.workflow,
        "workflow_version": scene.workflow_version, "rate": f"{scene.rate.numerator}/{scene.rate.denominator}",
        "mode": scene.stitch_mode.code, "seed_policy": scene.seed_policy.code, "planned_frames": view.planned_frames,
        "segments": [], "seams": [], "takes": [],
    }  # fmt: skip
    for seg in view.segments:
        current = view.current(seg.position)
        data["segments"].append({
            "position": seg.position + 1, "status": seg.status.code, "planned_frames": seg.planned_frames,
            "current_take_id": seg.current_take_id, "cut_frame": current.cut_frame if current else None,
            "approved_by": view.approvals.get(seg.current_take_id or 0),
        })  # fmt: skip
    for t in view.takes:
        data["takes"].append({
            "id": t.id, "segment": next(s.position + 1 for s in view.segments if s.id == t.segment_id),
            "parent_take_id": t.parent_take_id, "reason": t.reason.code, "status": t.status.code, "seed": t.seed,
            "job_id": t.job_id, "frame_count": t.frame_count, "cut_frame": t.cut_frame,
            "error": view.job_errors.get(t.id),
        })  # fmt: skip
    for s in view.seams:
        data["seams"].append({"left_take_id": s.left_take_id, "right_take_id": s.right_take_id,
                              "grade": s.grade.code, "score": s.score, "remedy": s.remedy})  # fmt: skip
    if report is not None:
        data["run"] = {"complete": report.complete, "failed": report.failed, "waiting": list(report.waiting)}
    return data


def show(view: SceneView, as_json: bool, report: AdvanceReport | None = None) -> None:
    if as_json:
        print_json(view_json(view, report))
        return
    scene = view.scene
    head = f"{scene.ref}: {scene.status.label.lower()}, {len(view.segments)} segments, "
    print(
        head + f"{view.planned_frames} frames planned at {scene.rate} fps ({scene.workflow} v{scene.workflow_version})"
    )
    grades = {s.right_take_id: s for s in view.seams}
    for seg in view.segments:
        take = view.current(seg.position)
        seam = grades.get(take.id) if take else None
        bits = [f"  {seg.position + 1}. {seg.status.code:<12} {seg.planned_frames} frames"]
        if take is not None:
            bits.append(f"take {take.id} ({take.reason.code}, seed {take.seed}, cut {take.cut_frame})")
        if seam is not None:
            bits.append(f"seam {seam.grade.code} {seam.score:.2f}")
        if seg.current_take_id in view.approvals:
            bits.append(f"final: {view.approvals[seg.current_take_id or 0]}")
        print("  ".join(bits))
