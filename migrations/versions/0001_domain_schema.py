"""Domain schema: lookups, users, files, projects, workflows, servers, scenes, jobs, review, activity, collab.

Revision ID: 0001
Revises: (none)

Tables are written out by hand from `x121_desktop.db.models`; `alembic check`
(tests/architecture/test_alembic_check.py) proves the two agree. Constraint and index names
come from the naming convention of `Base.metadata` (ARCHITECTURE §5), which Alembic applies
to unnamed constraints here. The two FKs that close cycles (segments.current_take_id,
takes.job_id) are added after every table exists.

Lookup rows are literal on purpose: a later revision that adds a status adds its row there,
and tests/architecture/test_enum_sync.py compares the migrated rows with core/enums.py.
Defaults of created_by/author/owner columns (the calling user) come with the security revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OnDelete = str
TSTZ = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


# ----------------------------------------------------------------------------- column helpers
def _id(big: bool = False) -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger() if big else sa.Integer(), primary_key=True)


def _ref(
    name: str,
    target: str,
    *,
    ondelete: OnDelete = "RESTRICT",
    nullable: bool = False,
    index: bool = False,
    pk: bool = False,
    big: bool = False,
) -> sa.Column[int]:
    """An integer FK column with an explicit ON DELETE rule."""
    return sa.Column(
        name,
        sa.BigInteger() if big else sa.Integer(),
        sa.ForeignKey(target, ondelete=ondelete),
        nullable=nullable,
        index=index,
        primary_key=pk,
    )


def _user(name: str, *, index: bool = False) -> sa.Column[int]:
    """created_by / author / owner (the security revision adds the current-user default)."""
    return _ref(name, "users.id", index=index)


def _lookup(table: str, *, index: bool = False, pk: bool = False) -> sa.Column[int]:
    return sa.Column(
        f"{table}_id",
        sa.SmallInteger(),
        sa.ForeignKey(f"{table}.id", ondelete="RESTRICT"),
        nullable=False,
        index=index,
        primary_key=pk,
        autoincrement=False,
    )


def _ts(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, TSTZ, server_default=sa.func.now(), nullable=False)


def _ts_null(name: str) -> sa.Column[object]:
    return sa.Column(name, TSTZ, nullable=True)


def _doc(name: str, *, nullable: bool = False, empty_default: bool = True) -> sa.Column[object]:
    default = sa.text("'{}'::jsonb") if empty_default and not nullable else None
    return sa.Column(name, JSONB, server_default=default, nullable=nullable)


def _text(name: str, *, nullable: bool = False, unique: bool = False, default: str | None = None) -> sa.Column[str]:
    server_default = sa.text(f"'{default}'") if default is not None else None
    return sa.Column(name, sa.Text(), nullable=nullable, unique=unique, server_default=server_default)


def _int(name: str, *, nullable: bool = False, default: int | None = None, small: bool = False) -> sa.Column[int]:
    server_default = sa.text(str(default)) if default is not None else None
    kind = sa.SmallInteger() if small else sa.Integer()
    return sa.Column(name, kind, nullable=nullable, server_default=server_default)


def _bool(name: str, default: bool) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), server_default=sa.text("true" if default else "false"), nullable=False)


def _hex64(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.CHAR(64), nullable=nullable, index=index)


def _ck(sqltext: str, name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(sqltext, name=name)


# ----------------------------------------------------------------------------- upgrade
def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    _create_lookups()
    _create_users_and_files()
    _create_projects_workflows_servers()
    _create_scenes_and_jobs()
    _create_review_activity_collab()
    _seed_lookups()


def _create_lookups() -> None:
    for table in LOOKUP_ROWS:
        op.create_table(
            table,
            sa.Column("id", sa.SmallInteger(), primary_key=True, autoincrement=False),
            sa.Column("code", sa.Text(), nullable=False, unique=True),
            sa.Column("label", sa.Text(), nullable=False),
        )


def _create_users_and_files() -> None:
    op.create_table(
        "users",
        _id(),
        _text("role_name", unique=True),
        _text("display_name"),
        _text("email", nullable=True),
        _lookup("user_role"),
        _bool("is_active", True),
        _ts(),
        _ck(r"role_name ~ '^[a-z_][a-z0-9_]{0,62}$'", "role_name_format"),
        _ck("length(btrim(display_name)) > 0", "display_name_not_blank"),
    )
    op.create_table(
        "user_secrets",
        _ref("user_id", "users.id", ondelete="CASCADE", pk=True),
        _doc("data"),
        _ts("updated_at"),
    )
    op.create_table(
        "user_settings",
        _ref("user_id", "users.id", ondelete="CASCADE", pk=True),
        sa.Column("key", sa.Text(), primary_key=True),
        _doc("value", empty_default=False),
        _ts("updated_at"),
    )
    op.create_table(
        "files",
        _id(),
        _hex64("sha256", index=True),
        _text("rel_path", unique=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        _lookup("file_kind"),
        _lookup("retention_class", index=True),
        _user("created_by"),
        _ts(),
        _ck("sha256 ~ '^[0-9a-f]{64}$'", "sha256_hex"),
        _ck("size_bytes >= 0", "size_not_negative"),
        _ck("rel_path <> '' AND left(rel_path, 1) <> '/'", "rel_path_relative"),
    )
    op.create_table(
        "image_hashes",
        _ref("file_id", "files.id", ondelete="CASCADE", pk=True),
        sa.Column("frame_index", sa.Integer(), primary_key=True, server_default=sa.text("0")),
        sa.Column("phash", pgvector.sqlalchemy.BIT(64), nullable=False),
        _ck("frame_index >= 0", "frame_index_not_negative"),
        sa.Index(
            "ix_image_hashes_phash_hnsw", "phash", postgresql_using="hnsw", postgresql_ops={"phash": "bit_hamming_ops"}
        ),
    )
    op.create_table(
        "face_embeddings",
        _id(big=True),
        _ref("file_id", "files.id", ondelete="CASCADE"),
        _int("frame_index", default=0),
        *(_int(name) for name in ("box_x", "box_y", "box_w", "box_h")),
        sa.Column("embedding", pgvector.sqlalchemy.VECTOR(128), nullable=False),
        _ts(),
        _ck("frame_index >= 0", "frame_index_not_negative"),
        _ck("box_w > 0 AND box_h > 0", "box_not_empty"),
        sa.Index("ix_face_embeddings_file_frame", "file_id", "frame_index"),
        sa.Index(
            "ix_face_embeddings_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_l2_ops"},
        ),
    )
    op.create_table(
        "retention_policies",
        _lookup("retention_class", pk=True),
        _int("keep_days", nullable=True),
        _ts("updated_at"),
        _ck("keep_days IS NULL OR keep_days >= 0", "keep_days_not_negative"),
    )


def _create_projects_workflows_servers() -> None:
    op.create_table(
        "projects",
        _id(),
        _text("name", unique=True),
        _text("description", default=""),
        _lookup("project_status"),
        _int("fps_num", default=24),
        _int("fps_den", default=1),
        _int("width", default=1280),
        _int("height", default=720),
        _user("created_by"),
        _ts(),
        _ts("updated_at"),
        _ck("length(btrim(name)) > 0", "name_not_blank"),
        _ck("fps_num > 0 AND fps_den > 0", "fps_positive"),
        _ck("width > 0 AND height > 0", "size_positive"),
    )
    op.create_table(
        "characters",
        _id(),
        _ref("project_id", "projects.id"),
        _text("name"),
        _lookup("character_mode"),
        _text("notes", default=""),
        _user("created_by"),
        _ts(),
        sa.UniqueConstraint("project_id", "name"),
        _ck("length(btrim(name)) > 0", "name_not_blank"),
    )
    op.create_table(
        "workflows",
        _id(),
        _text("name", unique=True),
        _text("description", default=""),
        _bool("is_archived", False),
        _user("created_by"),
        _ts(),
        _ck("length(btrim(name)) > 0", "name_not_blank"),
    )
    op.create_table(
        "workflow_versions",
        _id(),
        _ref("workflow_id", "workflows.id", ondelete="CASCADE"),
        _int("version_no"),
        _hex64("content_hash"),
        _doc("ui_json", nullable=True),
        _doc("api_json", empty_default=False),
        _doc("manifest"),
        _text("note", default=""),
        _user("created_by"),
        _ts(),
        sa.UniqueConstraint("workflow_id", "version_no"),
        sa.UniqueConstraint("content_hash", "workflow_id"),
        _ck("version_no >= 1", "version_no_positive"),
        _ck("content_hash ~ '^[0-9a-f]{64}$'", "content_hash_hex"),
    )
    op.create_table(
        "comfy_servers",
        _id(),
        _text("name", unique=True),
        _text("base_url", unique=True),
        _lookup("server_status"),
        _bool("is_enabled", True),
        _int("slots", default=1, small=True),
        _int("queued_slots", default=0),
        sa.Column("speed_factor", sa.Double(), server_default=sa.text("1.0"), nullable=False),
        sa.Column("rate_per_hour", sa.Numeric(10, 4), nullable=True),
        _ts_null("last_seen_at"),
        _doc("system_stats", nullable=True),
        _hex64("object_info_hash", nullable=True),
        _ts(),
        _ck("slots >= 1", "slots_positive"),
        _ck("queued_slots >= 0", "queued_slots_not_negative"),
        _ck("speed_factor > 0", "speed_factor_positive"),
        _ck("rate_per_hour IS NULL OR rate_per_hour >= 0", "rate_not_negative"),
        _ck("base_url ~ '^https?://'", "base_url_http"),
    )
    op.create_table(
        "server_capabilities",
        _id(),
        _ref("server_id", "comfy_servers.id", ondelete="CASCADE"),
        _lookup("capability_kind"),
        _text("folder", default=""),
        _text("name"),
        sa.UniqueConstraint("server_id", "capability_kind_id", "folder", "name"),
        sa.Index("ix_server_capabilities_kind_name", "capability_kind_id", "name"),
    )


def _create_scenes_and_jobs() -> None:
    op.create_table(
        "scenes",
        _id(),
        _ref("character_id", "characters.id"),
        _text("name"),
        _lookup("scene_status"),
        _ref("workflow_version_id", "workflow_versions.id", nullable=True, index=True),
        _int("min_frames"),
        _int("max_frames"),
        _int("fps_num", default=24),
        _int("fps_den", default=1),
        _text("prompt", default=""),
        _text("negative_prompt", default=""),
        _lookup("seed_policy"),
        sa.Column("base_seed", sa.BigInteger(), nullable=True),
        sa.Column("likeness_weight", sa.REAL(), server_default=sa.text("1.0"), nullable=False),
        _lookup("stitch_mode"),
        _user("created_by"),
        _ts(),
        _ts("updated_at"),
        sa.UniqueConstraint("character_id", "name"),
        _ck("length(btrim(name)) > 0", "name_not_blank"),
        _ck("min_frames > 0 AND max_frames >= min_frames", "frame_range"),
        _ck("fps_num > 0 AND fps_den > 0", "fps_positive"),
        _ck("likeness_weight >= 0", "likeness_weight_not_negative"),
    )
    op.create_table(
        "segments",
        _id(),
        _ref("scene_id", "scenes.id", ondelete="CASCADE"),
        _int("position"),
        _lookup("segment_status", index=True),
        _text("prompt", nullable=True),
        _int("planned_frames"),
        sa.Column("current_take_id", sa.Integer(), nullable=True, index=True),  # FK added below (cycle)
        _ts(),
        _ts("updated_at"),
        sa.UniqueConstraint("scene_id", "position", deferrable=True, initially="DEFERRED"),
        _ck("position >= 0", "position_not_negative"),
        _ck("planned_frames > 0", "planned_frames_positive"),
    )
    op.create_table(
        "takes",
        _id(),
        _ref("segment_id", "segments.id", ondelete="CASCADE", index=True),
        _ref("parent_take_id", "takes.id", ondelete="NO ACTION", nullable=True, index=True),
        _lookup("take_reason"),
        _lookup("take_status"),
        _ref("file_id", "files.id", nullable=True, index=True),
        _ref("start_file_id", "files.id", nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True, index=True),  # FK added below (cycle)
        sa.Column("seed", sa.BigInteger(), nullable=True),
        _int("cut_frame", nullable=True),
        _int("frame_count", nullable=True),
        sa.Column("likeness_distance", sa.REAL(), nullable=True),
        _user("created_by"),
        _ts(),
        _ck("parent_take_id <> id", "parent_not_self"),
        _ck("cut_frame IS NULL OR cut_frame >= 0", "cut_frame_not_negative"),
        _ck("frame_count IS NULL OR frame_count > 0", "frame_count_positive"),
        _ck("cut_frame IS NULL OR frame_count IS NULL OR cut_frame < frame_count", "cut_inside_take"),
    )
    op.create_table(
        "seams",
        _id(),
        _ref("scene_id", "scenes.id", ondelete="CASCADE", index=True),
        _ref("left_take_id", "takes.id", ondelete="CASCADE"),
        _ref("right_take_id", "takes.id", ondelete="CASCADE", index=True),
        _lookup("seam_grade"),
        sa.Column("score", sa.REAL(), nullable=False),
        _doc("metrics"),
        _doc("remedy", nullable=True),
        _ts("measured_at"),
        sa.UniqueConstraint("left_take_id", "right_take_id"),
        _ck("left_take_id <> right_take_id", "distinct_takes"),
    )
    op.create_table(
        "jobs",
        _id(),
        sa.Column("prompt_id", sa.Uuid(), nullable=False, unique=True),
        _user("owner_id", index=True),
        _ref("project_id", "projects.id", nullable=True, index=True),
        _ref("workflow_version_id", "workflow_versions.id", nullable=True),
        _lookup("job_kind"),
        _lookup("job_status"),
        _int("priority", default=0, small=True),
        _doc("inputs"),
        _hex64("cache_key", nullable=True, index=True),
        _bool("redispatch_allowed", True),
        _ref("take_id", "takes.id", nullable=True, index=True),
        _ref("server_id", "comfy_servers.id", nullable=True, index=True),
        _text("lease_holder", nullable=True),
        sa.Column("lease_expires_at", TSTZ, nullable=True, index=True),
        _int("attempts", default=0),
        _int("max_attempts", default=3, small=True),
        _bool("cancel_requested", False),
        _text("error", nullable=True),
        _ts(),
        _ts("updated_at"),
        _ts_null("started_at"),
        _ts_null("finished_at"),
        _ck("attempts >= 0", "attempts_not_negative"),
        _ck("max_attempts >= 1", "max_attempts_positive"),
        _ck("cache_key IS NULL OR cache_key ~ '^[0-9a-f]{64}$'", "cache_key_hex"),
        _ck("(lease_holder IS NULL) = (lease_expires_at IS NULL)", "lease_complete"),
        sa.Index("ix_jobs_claim", "job_status_id", "priority", "created_at"),
    )
    op.create_foreign_key(None, "segments", "takes", ["current_take_id"], ["id"], ondelete="SET NULL")
    op.create_foreign_key(None, "takes", "jobs", ["job_id"], ["id"], ondelete="RESTRICT")
    op.create_table(
        "seed_images",
        _id(),
        _ref("character_id", "characters.id"),
        _lookup("seed_kind"),
        _ref("file_id", "files.id", index=True),
        _lookup("seed_origin"),
        _ref("parent_seed_id", "seed_images.id", nullable=True, index=True),
        _ref("merged_from_seed_id", "seed_images.id", nullable=True),
        _bool("is_hero", False),
        _ref("workflow_version_id", "workflow_versions.id", nullable=True),
        _ref("job_id", "jobs.id", nullable=True),
        _doc("params", nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        _text("note", default=""),
        _user("created_by"),
        _ts(),
        sa.UniqueConstraint("character_id", "seed_kind_id", "file_id"),
        _ck("parent_seed_id <> id", "parent_not_self"),
        _ck("merged_from_seed_id <> id", "merged_from_not_self"),
        sa.Index(
            "uq_seed_images_one_hero", "character_id", "seed_kind_id", unique=True, postgresql_where=sa.text("is_hero")
        ),
    )
    op.create_table(
        "job_attempts",
        _id(),
        _ref("job_id", "jobs.id", ondelete="CASCADE"),
        _int("attempt_no"),
        _ref("server_id", "comfy_servers.id", index=True),
        _lookup("job_status"),
        _text("lease_holder"),
        _ts("started_at"),
        _ts_null("finished_at"),
        _text("error", nullable=True),
        sa.UniqueConstraint("job_id", "attempt_no"),
        _ck("attempt_no >= 1", "attempt_no_positive"),
        _ck("finished_at IS NULL OR finished_at >= started_at", "finished_after_start"),
    )
    op.create_table(
        "job_events",
        _id(big=True),
        _ref("job_id", "jobs.id", ondelete="CASCADE"),
        _lookup("job_event_kind"),
        _int("attempt_no", nullable=True),
        _ts("at"),
        _doc("data"),
        sa.Index("ix_job_events_job_id_id", "job_id", "id"),
    )
    op.create_table(
        "job_outputs",
        _id(),
        _ref("job_id", "jobs.id", ondelete="CASCADE"),
        _ref("file_id", "files.id", index=True),
        _text("node_id"),
        sa.UniqueConstraint("job_id", "node_id", "file_id"),
    )
    op.create_table(
        "node_timings",
        _id(big=True),
        _ref("job_id", "jobs.id", ondelete="CASCADE", index=True),
        _text("node_id"),
        _text("class_type"),
        _ref("server_id", "comfy_servers.id"),
        sa.Column("seconds", sa.Double(), nullable=False),
        _ts("recorded_at"),
        _ck("seconds >= 0", "seconds_not_negative"),
        sa.Index("ix_node_timings_class_server", "class_type", "server_id"),
    )
    op.create_table(
        "cost_records",
        _id(),
        _ref("job_id", "jobs.id", index=True),
        _ref("server_id", "comfy_servers.id", index=True),
        sa.Column("gpu_seconds", sa.Double(), nullable=False),
        sa.Column("rate_per_hour", sa.Numeric(10, 4), nullable=False),
        sa.Column("cost", sa.Numeric(12, 4), nullable=False),
        _ts("recorded_at"),
        _ck("gpu_seconds >= 0", "gpu_seconds_not_negative"),
        _ck("rate_per_hour >= 0", "rate_not_negative"),
        _ck("cost >= 0", "cost_not_negative"),
    )


def _create_review_activity_collab() -> None:
    op.create_table(
        "approvals",
        _id(),
        _ref("take_id", "takes.id"),
        _user("approved_by"),
        _ts("approved_at"),
        _text("note", default=""),
        sa.UniqueConstraint("take_id"),
    )
    op.create_table(
        "verdicts",
        _id(),
        _ref("take_id", "takes.id"),
        _user("reviewer_id", index=True),
        _lookup("verdict"),
        _text("note", default=""),
        _ts(),
        sa.UniqueConstraint("take_id", "reviewer_id"),
    )
    op.create_table(
        "annotations",
        _id(),
        _ref("take_id", "takes.id", index=True),
        _user("author_id"),
        _lookup("annotation_kind"),
        _int("frame_start"),
        _int("frame_count", default=1),
        _doc("data"),
        _ref("voice_file_id", "files.id", nullable=True),
        _ts(),
        _ts("updated_at"),
        _ck("frame_start >= 0", "frame_start_not_negative"),
        _ck("frame_count >= 1", "frame_count_positive"),
    )
    op.create_table(
        "comments",
        _id(),
        _ref("project_id", "projects.id", index=True),
        _ref("segment_id", "segments.id", nullable=True, index=True),
        _ref("take_id", "takes.id", nullable=True, index=True),
        _ref("parent_comment_id", "comments.id", ondelete="CASCADE", nullable=True, index=True),
        _int("frame", nullable=True),
        _user("author_id"),
        _text("body"),
        _ts(),
        _ts_null("edited_at"),
        _ts_null("resolved_at"),
        _ck("length(btrim(body)) > 0", "body_not_blank"),
        _ck("frame IS NULL OR frame >= 0", "frame_not_negative"),
        _ck("frame IS NULL OR take_id IS NOT NULL", "frame_needs_take"),
        _ck("parent_comment_id <> id", "parent_not_self"),
    )
    op.create_table(
        "comment_mentions",
        _ref("comment_id", "comments.id", ondelete="CASCADE", pk=True),
        _ref("user_id", "users.id", pk=True, index=True),
    )
    op.create_table(
        "activity_events",
        _id(big=True),
        _ref("project_id", "projects.id", nullable=True),
        _user("actor_id", index=True),
        _lookup("activity_kind"),
        _ts("at"),
        _doc("data"),
        _ref("segment_id", "segments.id", ondelete="SET NULL", nullable=True, index=True),
        _ref("take_id", "takes.id", ondelete="SET NULL", nullable=True, index=True),
        _ref("job_id", "jobs.id", ondelete="SET NULL", nullable=True, index=True),
        sa.Index("ix_activity_events_project_id_id", "project_id", "id"),
    )
    op.create_table(
        "notifications",
        _id(big=True),
        _ref("user_id", "users.id"),
        _lookup("notification_kind"),
        _ref("activity_event_id", "activity_events.id", ondelete="CASCADE", index=True, big=True),
        _ts(),
        _ts_null("read_at"),
        sa.UniqueConstraint("user_id", "activity_event_id"),
        sa.Index("ix_notifications_unread", "user_id", postgresql_where=sa.text("read_at IS NULL")),
    )
    for table, target in (("segment_locks", "segments"), ("workflow_locks", "workflows")):
        op.create_table(
            table,
            _ref(f"{target[:-1]}_id", f"{target}.id", ondelete="CASCADE", pk=True),
            _user("holder_id", index=True),
            _text("machine"),
            _ts("acquired_at"),
            sa.Column("expires_at", TSTZ, nullable=False),
            _ck("expires_at > acquired_at", "expires_after_acquired"),
        )
    op.create_table(
        "presence",
        _ref("user_id", "users.id", pk=True),
        sa.Column("machine", sa.Text(), primary_key=True),
        _ref("project_id", "projects.id", ondelete="SET NULL", nullable=True),
        _ref("scene_id", "scenes.id", ondelete="SET NULL", nullable=True),
        _ref("segment_id", "segments.id", ondelete="SET NULL", nullable=True),
        _ref("take_id", "takes.id", ondelete="SET NULL", nullable=True),
        _int("frame", nullable=True),
        _ts("heartbeat_at"),
        _ck("frame IS NULL OR frame >= 0", "frame_not_negative"),
        sa.Index("ix_presence_project_heartbeat", "project_id", "heartbeat_at"),
    )


def _seed_lookups() -> None:
    for name, rows in LOOKUP_ROWS.items():
        table = sa.table(name, sa.column("id", sa.SmallInteger()), sa.column("code"), sa.column("label"))
        op.bulk_insert(table, [{"id": id_, "code": code, "label": label} for id_, code, label in rows])


# ----------------------------------------------------------------------------- downgrade
DOMAIN_TABLES = (
    "users, user_secrets, user_settings, files, image_hashes, face_embeddings, retention_policies, projects, "
    "characters, workflows, workflow_versions, comfy_servers, server_capabilities, scenes, segments, takes, seams, "
    "jobs, seed_images, job_attempts, job_events, job_outputs, node_timings, cost_records, approvals, verdicts, "
    "annotations, comments, comment_mentions, activity_events, notifications, segment_locks, workflow_locks, presence"
)


def downgrade() -> None:
    # One statement drops every table of this revision together, FK cycles included. The vector
    # extension stays: other objects in the database may use it.
    op.execute(f"DROP TABLE {DOMAIN_TABLES}, {', '.join(LOOKUP_ROWS)}")


# ----------------------------------------------------------------------------- lookup rows
LOOKUP_ROWS: dict[str, list[tuple[int, str, str]]] = {
    "user_role": [(1, "admin", "Administrator"), (2, "creator", "Creator"), (3, "reviewer", "Reviewer")],
    "project_status": [
        (1, "active", "Active"),
        (2, "on_hold", "On hold"),
        (3, "delivered", "Delivered"),
        (4, "archived", "Archived"),
    ],
    "character_mode": [(1, "forward", "Forward (A to B)"), (2, "reverse", "Reverse (B to A)"), (3, "manual", "Manual")],
    "seed_kind": [(1, "a", "Seed A"), (2, "b", "Seed B")],
    "seed_origin": [(1, "given", "Given"), (2, "generated", "Generated"), (3, "merged", "Merged")],
    "scene_status": [
        (1, "draft", "Draft"),
        (2, "planned", "Planned"),
        (3, "in_progress", "In progress"),
        (4, "in_review", "In review"),
        (5, "approved", "Approved"),
        (6, "delivered", "Delivered"),
        (7, "archived", "Archived"),
    ],
    "segment_status": [
        (1, "planned", "Planned"),
        (2, "queued", "Queued"),
        (3, "generating", "Generating"),
        (4, "generated", "Generated"),
        (5, "in_review", "In review"),
        (6, "approved", "Approved"),
        (7, "rejected", "Rejected"),
        (8, "stale", "Stale"),
        (9, "needs_regen", "Needs regeneration"),
        (10, "failed", "Failed"),
        (11, "cancelled", "Cancelled"),
    ],
    "take_status": [
        (1, "pending", "Pending"),
        (2, "generating", "Generating"),
        (3, "ready", "Ready"),
        (4, "approved", "Approved"),
        (5, "rejected", "Rejected"),
        (6, "superseded", "Superseded"),
        (7, "failed", "Failed"),
        (8, "cancelled", "Cancelled"),
    ],
    "take_reason": [
        (1, "initial", "Initial generation"),
        (2, "regenerate", "Regenerate"),
        (3, "heal", "Seam heal"),
        (4, "rechain", "Re-chain from new start frame"),
        (5, "restore", "Restore earlier take"),
        (6, "variant", "Variant"),
        (7, "trim", "Trim"),
        (8, "import", "Imported"),
    ],
    "stitch_mode": [(1, "simple", "Simple (cut)"), (2, "advanced", "Advanced (overlap, trim, heal)")],
    "seed_policy": [
        (1, "fixed", "Fixed seed"),
        (2, "increment", "Increment per segment"),
        (3, "random", "Random per take"),
        (4, "inherit", "Inherit from parent take"),
    ],
    "seam_grade": [(1, "green", "Green"), (2, "amber", "Amber"), (3, "red", "Red")],
    "job_status": [
        (1, "queued", "Queued"),
        (2, "claimed", "Claimed"),
        (3, "uploading", "Uploading inputs"),
        (4, "submitted", "Submitted"),
        (5, "running", "Running"),
        (6, "downloading", "Downloading outputs"),
        (7, "succeeded", "Succeeded"),
        (8, "failed", "Failed"),
        (9, "cancelled", "Cancelled"),
        (10, "lost", "Lost"),
    ],
    "job_kind": [
        (1, "generate", "Generate segment"),
        (2, "heal", "Heal seam"),
        (3, "seed_generate", "Generate seed image"),
        (4, "seed_merge", "Merge seed images"),
        (5, "upscale", "Upscale"),
        (6, "interpolate", "Frame interpolation"),
        (7, "script", "Refinement script"),
        (8, "analyze", "Analyze media"),
        (9, "export", "Export"),
    ],
    "job_event_kind": [
        (1, "created", "Created"),
        (2, "claimed", "Claimed"),
        (3, "uploaded", "Inputs uploaded"),
        (4, "submitted", "Submitted"),
        (5, "started", "Started"),
        (6, "progress", "Progress"),
        (7, "node_started", "Node started"),
        (8, "node_finished", "Node finished"),
        (9, "output_stored", "Output stored"),
        (10, "succeeded", "Succeeded"),
        (11, "failed", "Failed"),
        (12, "cancel_requested", "Cancel requested"),
        (13, "cancelled", "Cancelled"),
        (14, "lease_expired", "Lease expired"),
        (15, "lost", "Lost"),
        (16, "requeued", "Requeued"),
        (17, "log", "Log line"),
    ],
    "server_status": [
        (1, "online", "Online"),
        (2, "busy", "Busy"),
        (3, "draining", "Draining"),
        (4, "offline", "Offline"),
        (5, "errored", "Errored"),
    ],
    "capability_kind": [(1, "node_type", "Node type"), (2, "model", "Model file")],
    "file_kind": [
        (1, "image", "Image"),
        (2, "video", "Video"),
        (3, "audio", "Audio"),
        (4, "proxy", "Proxy video"),
        (5, "thumbnail", "Thumbnail"),
        (6, "mask", "Mask"),
        (7, "workflow", "Workflow document"),
        (8, "export", "Export"),
        (9, "other", "Other"),
    ],
    "retention_class": [
        (1, "permanent", "Permanent"),
        (2, "deliverable", "Deliverable"),
        (3, "working", "Working"),
        (4, "scratch", "Scratch"),
        (5, "cache", "Cache"),
    ],
    "verdict": [(1, "approve", "Approve"), (2, "reject", "Reject"), (3, "flag", "Flag")],
    "annotation_kind": [
        (1, "freehand", "Freehand"),
        (2, "arrow", "Arrow"),
        (3, "rectangle", "Rectangle"),
        (4, "ellipse", "Ellipse"),
        (5, "text", "Text"),
        (6, "voice", "Voice note"),
        (7, "marker", "Marker"),
    ],
    "activity_kind": [
        (1, "project_created", "Project created"),
        (2, "character_created", "Character created"),
        (3, "seed_added", "Seed image added"),
        (4, "hero_chosen", "Hero seed chosen"),
        (5, "scene_created", "Scene created"),
        (6, "segment_planned", "Segment planned"),
        (7, "job_queued", "Job queued"),
        (8, "job_succeeded", "Job succeeded"),
        (9, "job_failed", "Job failed"),
        (10, "take_created", "Take created"),
        (11, "verdict_given", "Verdict given"),
        (12, "take_approved", "Final approval"),
        (13, "seam_graded", "Seam graded"),
        (14, "comment_added", "Comment added"),
        (15, "annotation_added", "Annotation added"),
        (16, "workflow_versioned", "Workflow version saved"),
        (17, "server_changed", "Server changed"),
        (18, "user_changed", "User changed"),
    ],
    "notification_kind": [
        (1, "mention", "Mention"),
        (2, "reply", "Reply"),
        (3, "verdict", "Verdict"),
        (4, "approval", "Final approval"),
        (5, "job_finished", "Job finished"),
        (6, "job_failed", "Job failed"),
        (7, "lock_released", "Lock released"),
        (8, "system", "System"),
    ],
}
