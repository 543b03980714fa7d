"""All ORM models; importing this package makes `Base.metadata` complete.

One module per aggregate; `lookups` holds every lookup table.
"""

from x121_desktop.db.base import Base
from x121_desktop.db.models.activity import ActivityEvent, Notification
from x121_desktop.db.models.collab import Presence, SegmentLock, WorkflowLock
from x121_desktop.db.models.files import FaceEmbedding, File, ImageHash, RetentionPolicy
from x121_desktop.db.models.jobs import CostRecord, Job, JobAttempt, JobEvent, JobOutput, NodeTiming
from x121_desktop.db.models.library import LibraryMeta, LibraryPin
from x121_desktop.db.models.lookups import LOOKUP_ROWS
from x121_desktop.db.models.projects import Character, Project, SeedImage
from x121_desktop.db.models.review import Annotation, Approval, Comment, CommentMention, Verdict
from x121_desktop.db.models.scenes import Scene, Seam, Segment, Take
from x121_desktop.db.models.servers import ComfyServer, ServerCapability
from x121_desktop.db.models.users import User, UserSecret, UserSetting
from x121_desktop.db.models.workflows import Workflow, WorkflowVersion

__all__ = [
    "LOOKUP_ROWS",
    "ActivityEvent",
    "Annotation",
    "Approval",
    "Base",
    "Character",
    "ComfyServer",
    "Comment",
    "CommentMention",
    "CostRecord",
    "FaceEmbedding",
    "File",
    "ImageHash",
    "Job",
    "JobAttempt",
    "JobEvent",
    "JobOutput",
    "LibraryMeta",
    "LibraryPin",
    "NodeTiming",
    "Notification",
    "Presence",
    "Project",
    "RetentionPolicy",
    "Scene",
    "Seam",
    "SeedImage",
    "Segment",
    "SegmentLock",
    "ServerCapability",
    "Take",
    "User",
    "UserSecret",
    "UserSetting",
    "Verdict",
    "Workflow",
    "WorkflowLock",
    "WorkflowVersion",
]
