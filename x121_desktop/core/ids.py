"""Typed ids: every aggregate is referred to by its integer id across layers."""

from typing import NewType

UserId = NewType("UserId", int)
ProjectId = NewType("ProjectId", int)
CharacterId = NewType("CharacterId", int)
SeedImageId = NewType("SeedImageId", int)
FileId = NewType("FileId", int)
WorkflowId = NewType("WorkflowId", int)
WorkflowVersionId = NewType("WorkflowVersionId", int)
SceneId = NewType("SceneId", int)
SegmentId = NewType("SegmentId", int)
TakeId = NewType("TakeId", int)
JobId = NewType("JobId", int)
ServerId = NewType("ServerId", int)
CommentId = NewType("CommentId", int)
AnnotationId = NewType("AnnotationId", int)
