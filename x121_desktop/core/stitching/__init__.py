"""Stitching: seam metrics and grades (metrics.py, score.py), then modes, duration and healing.

Stable entry points for other modules::

    from x121_desktop.core.stitching.metrics import analyze_seam, analyze_segment, compare_frames
    from x121_desktop.core.stitching.report import SeamReport, SegmentReport
    from x121_desktop.core.stitching.score import Grade, SeamMetric, SeamThresholds, DEFAULT_THRESHOLDS

This package imports nothing itself, so importing one submodule stays cheap.
"""
