"""The production pipeline as plain data: scenes as chains of segments, takes, their rules.

* `values`: frozen Scene/Segment/Take/Seam values, scene references (`CHARACTER/NAME`) and
  duration ranges.
* `transitions`: which status may follow which (mirrors SceneStatus/SegmentStatus/TakeStatus).
* `chain`: planning a scene's segments, seeds per policy, the next steps of a chain, and the
  frame ranges assembly keeps of each take.
"""
