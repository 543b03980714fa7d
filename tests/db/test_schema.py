"""The migrated schema enforces what the models promise: real inserts into a real PostgreSQL.

Each test runs in the `db_conn` transaction (rolled back afterwards); statements that must
fail run inside a savepoint so the test can go on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import imagehash
import numpy as np
import psycopg
import pytest
from PIL import Image
from psycopg import errors
from skimage import data as skdata
from sqlalchemy import select
from sqlalchemy.orm import Session

from x121_desktop.core.enums import (
    ActivityKind,
    CharacterMode,
    FileKind,
    JobEventKind,
    JobKind,
    JobStatus,
    ProjectStatus,
    RetentionClass,
    SceneStatus,
    SeamGrade,
    SeedKind,
    SeedOrigin,
    SeedPolicy,
    SegmentStatus,
    ServerStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
    UserRole,
)
from x121_desktop.db.models import FaceEmbedding, File, ImageHash, User

Conn = psycopg.Connection[Any]


@contextmanager
def refused(conn: Conn, error: type[Exception]) -> Iterator[None]:
    """The block must fail with `error`; its savepoint is rolled back so the test continues."""
    with pytest.raises(error), conn.transaction():
        yield


def one(conn: Conn, sql: str, *params: object) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


class Studio:
    """Inserts the rows a test needs, with plain SQL, and returns their ids."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.user = self.add_user("alice")
        self._files = 0

    def add_user(self, role_name: str, role: UserRole = UserRole.CREATOR) -> int:
        sql = "INSERT INTO users (role_name, display_name, user_role_id) VALUES (%s, %s, %s) RETURNING id"
        return int(one(self.conn, sql, role_name, role_name.title(), role))

    def add_file(self, kind: FileKind = FileKind.IMAGE) -> int:
        self._files += 1
        sha = f"{self._files:064x}"
        sql = """INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by)
                 VALUES (%s, %s, 100, %s, %s, %s) RETURNING id"""
        return int(one(self.conn, sql, sha, f"media/{sha[:2]}/{sha}", kind, RetentionClass.WORKING, self.user))

    def add_project(self, name: str = "Pilot") -> int:
        sql = "INSERT INTO projects (name, project_status_id, created_by) VALUES (%s, %s, %s) RETURNING id"
        return int(one(self.conn, sql, name, ProjectStatus.ACTIVE, self.user))

    def add_character(self, project: int, name: str = "Mira") -> int:
        sql = """INSERT INTO characters (project_id, name, character_mode_id, created_by)
                 VALUES (%s, %s, %s, %s) RETURNING id"""
        return int(one(self.conn, sql, project, name, CharacterMode.FORWARD, self.user))

    def add_seed(self, character: int, kind: SeedKind, *, hero: bool = False, file: int | None = None) -> int:
        sql = """INSERT INTO seed_images (character_id, seed_kind_id, file_id, seed_origin_id, is_hero, created_by)
                 VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"""
        file_id = file if file is not None else self.add_file()
        return int(one(self.conn, sql, character, kind, file_id, SeedOrigin.GIVEN, hero, self.user))

    def add_scene(self, character: int) -> int:
        sql = """INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames,
                                     seed_policy_id, stitch_mode_id, created_by)
                 VALUES (%s, 'Walk', %s, 96, 240, %s, %s, %s) RETURNING id"""
        return int(one(self.conn, sql, character, SceneStatus.DRAFT, SeedPolicy.FIXED, StitchMode.SIMPLE, self.user))

    def add_segment(self, scene: int, position: int) -> int:
        sql = """INSERT INTO segments (scene_id, position, segment_status_id, planned_frames)
                 VALUES (%s, %s, %s, 81) RETURNING id"""
        return int(one(self.conn, sql, scene, position, SegmentStatus.PLANNED))

    def add_take(self, segment: int, parent: int | None = None) -> int:
        sql = """INSERT INTO takes (segment_id, parent_take_id, take_reason_id, take_status_id, file_id,
                                    frame_count, created_by)
                 VALUES (%s, %s, %s, %s, %s, 81, %s) RETURNING id"""
        reason = TakeReason.INITIAL if parent is None else TakeReason.REGENERATE
        file_id = self.add_file(FileKind.VIDEO)
        return int(one(self.conn, sql, segment, parent, reason, TakeStatus.READY, file_id, self.user))

    def add_server(self, name: str = "gpu-1") -> int:
        sql = """INSERT INTO comfy_servers (name, base_url, server_status_id)
                 VALUES (%s, %s, %s) RETURNING id"""
        return int(one(self.conn, sql, name, f"http://{name}:8188", ServerStatus.ONLINE))

    def add_job(self, take: int | None = None) -> int:
        sql = """INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id, take_id)
                 VALUES (%s, %s, %s, %s, %s) RETURNING id"""
        return int(one(self.conn, sql, uuid.uuid4(), self.user, JobKind.GENERATE, JobStatus.QUEUED, take))

    def scene_with_takes(self) -> tuple[int, int, int, int]:
        """A scene with two segments and one take each; returns (scene, segment, left take, right take)."""
        scene = self.add_scene(self.add_character(self.add_project()))
        first, second = self.add_segment(scene, 0), self.add_segment(scene, 1)
        return scene, first, self.add_take(first), self.add_take(second)


@pytest.fixture
def studio(db_conn: Conn) -> Studio:
    return Studio(db_conn)


def count(conn: Conn, table: str, where: str = "true", *params: object) -> int:
    return int(one(conn, f"SELECT count(*) FROM {table} WHERE {where}", *params))


# ------------------------------------------------------------------------------- lookups and uniques
def test_status_columns_accept_only_seeded_lookup_ids(db_conn: Conn, studio: Studio) -> None:
    with refused(db_conn, errors.ForeignKeyViolation):
        db_conn.execute(
            "INSERT INTO projects (name, project_status_id, created_by) VALUES ('X', 99, %s)", (studio.user,)
        )
    studio.add_project()
    with refused(db_conn, errors.RestrictViolation):  # lookup rows in use never go
        db_conn.execute("DELETE FROM project_status WHERE id = %s", (ProjectStatus.ACTIVE,))
    assert count(db_conn, "user_role") == len(UserRole)


def test_user_role_names_are_unique_and_valid_postgres_identifiers(db_conn: Conn, studio: Studio) -> None:
    with refused(db_conn, errors.UniqueViolation):
        studio.add_user("alice")
    with refused(db_conn, errors.CheckViolation):
        studio.add_user("Robert'); DROP TABLE users;--")
    assert studio.add_user("bob_2", UserRole.REVIEWER) > studio.user


def test_one_hero_per_character_and_seed_kind(db_conn: Conn, studio: Studio) -> None:
    character = studio.add_character(studio.add_project())
    studio.add_seed(character, SeedKind.A, hero=True)
    studio.add_seed(character, SeedKind.B, hero=True)
    studio.add_seed(character, SeedKind.A)  # any number of non-hero variants
    with refused(db_conn, errors.UniqueViolation):
        studio.add_seed(character, SeedKind.A, hero=True)
    other = studio.add_character(studio.add_project("Other"))
    studio.add_seed(other, SeedKind.A, hero=True)  # heroes are per character
    assert count(db_conn, "seed_images", "is_hero") == 3


def test_seed_images_keep_their_character_and_file(db_conn: Conn, studio: Studio) -> None:
    character = studio.add_character(studio.add_project())
    file_id = studio.add_file()
    studio.add_seed(character, SeedKind.A, file=file_id)
    with refused(db_conn, errors.UniqueViolation):
        studio.add_seed(character, SeedKind.A, file=file_id)
    with refused(db_conn, errors.RestrictViolation):
        db_conn.execute("DELETE FROM characters WHERE id = %s", (character,))
    with refused(db_conn, errors.RestrictViolation):
        db_conn.execute("DELETE FROM files WHERE id = %s", (file_id,))


def test_check_constraints_reject_impossible_values(db_conn: Conn, studio: Studio) -> None:
    scene = studio.add_scene(studio.add_character(studio.add_project()))
    with refused(db_conn, errors.CheckViolation):
        db_conn.execute("UPDATE scenes SET max_frames = min_frames - 1 WHERE id = %s", (scene,))
    with refused(db_conn, errors.CheckViolation):
        db_conn.execute("UPDATE scenes SET fps_den = 0 WHERE id = %s", (scene,))
    with refused(db_conn, errors.CheckViolation):
        db_conn.execute("UPDATE files SET sha256 = repeat('Z', 64) WHERE id = %s", (studio.add_file(),))
    job = studio.add_job()
    with refused(db_conn, errors.CheckViolation):  # a lease needs both holder and expiry
        db_conn.execute("UPDATE jobs SET lease_holder = 'ws1:42' WHERE id = %s", (job,))
    db_conn.execute(
        "UPDATE jobs SET lease_holder = 'ws1:42', lease_expires_at = now() + interval '30 s' WHERE id = %s", (job,)
    )
    with refused(db_conn, errors.UniqueViolation):  # client-chosen prompt ids are unique
        db_conn.execute(
            "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id) "
            "SELECT prompt_id, owner_id, job_kind_id, job_status_id FROM jobs WHERE id = %s",
            (job,),
        )


def test_segments_can_swap_positions_in_one_transaction(db_conn: Conn, studio: Studio) -> None:
    scene, first, _, _ = studio.scene_with_takes()
    second = one(db_conn, "SELECT id FROM segments WHERE scene_id = %s AND position = 1", scene)
    # The unique (scene_id, position) is deferred to commit; SET CONSTRAINTS ... IMMEDIATE checks it now.
    db_conn.execute("UPDATE segments SET position = 1 WHERE id = %s", (first,))
    db_conn.execute("UPDATE segments SET position = 0 WHERE id = %s", (second,))
    db_conn.execute("SET CONSTRAINTS uq_segments_scene_id IMMEDIATE")
    db_conn.execute("SET CONSTRAINTS uq_segments_scene_id DEFERRED")
    with refused(db_conn, errors.UniqueViolation):
        db_conn.execute("UPDATE segments SET position = 0 WHERE id = %s", (first,))
        db_conn.execute("SET CONSTRAINTS uq_segments_scene_id IMMEDIATE")
    assert one(db_conn, "SELECT position FROM segments WHERE id = %s", first) == 1


# ------------------------------------------------------------------------------- ON DELETE rules
def test_deleting_a_scene_cascades_through_its_aggregate(db_conn: Conn, studio: Studio) -> None:
    scene, segment, left, right = studio.scene_with_takes()
    child = studio.add_take(segment, parent=left)
    db_conn.execute("UPDATE segments SET current_take_id = %s WHERE id = %s", (child, segment))
    db_conn.execute(
        "INSERT INTO seams (scene_id, left_take_id, right_take_id, seam_grade_id, score) VALUES (%s, %s, %s, %s, 0.9)",
        (scene, child, right, SeamGrade.GREEN),
    )
    db_conn.execute(
        "INSERT INTO segment_locks (segment_id, holder_id, machine, expires_at) "
        "VALUES (%s, %s, 'ws1', now() + interval '1 min')",
        (segment, studio.user),
    )
    # A live lock held by another user protects the segment, even against the superuser (migration 0006).
    with refused(db_conn, errors.LockNotAvailable):
        db_conn.execute("DELETE FROM scenes WHERE id = %s", (scene,))
    db_conn.execute(
        "UPDATE segment_locks SET acquired_at = now() - interval '2 min', expires_at = now() - interval '1 min' "
        "WHERE segment_id = %s",
        (segment,),
    )
    db_conn.execute("DELETE FROM scenes WHERE id = %s", (scene,))
    for table in ("segments", "takes", "seams", "segment_locks"):
        assert count(db_conn, table) == 0, table
    assert count(db_conn, "files", "file_kind_id = %s", FileKind.VIDEO) == 3  # files are the janitor's job


def test_reviewed_or_rendered_takes_block_deleting_their_scene(db_conn: Conn, studio: Studio) -> None:
    scene, _, left, right = studio.scene_with_takes()
    db_conn.execute("INSERT INTO approvals (take_id, approved_by) VALUES (%s, %s)", (left, studio.user))
    with refused(db_conn, errors.RestrictViolation):
        db_conn.execute("DELETE FROM scenes WHERE id = %s", (scene,))
    with refused(db_conn, errors.UniqueViolation):  # one final approval per take
        db_conn.execute("INSERT INTO approvals (take_id, approved_by) VALUES (%s, %s)", (left, studio.user))
    db_conn.execute("DELETE FROM approvals")
    studio.add_job(take=right)
    with refused(db_conn, errors.RestrictViolation):
        db_conn.execute("DELETE FROM scenes WHERE id = %s", (scene,))


def test_take_tree_and_current_take_pointer(db_conn: Conn, studio: Studio) -> None:
    _, segment, parent, _ = studio.scene_with_takes()
    child = studio.add_take(segment, parent=parent)
    with refused(db_conn, errors.ForeignKeyViolation):  # a parent cannot go while children remain
        db_conn.execute("DELETE FROM takes WHERE id = %s", (parent,))
    db_conn.execute("UPDATE segments SET current_take_id = %s WHERE id = %s", (child, segment))
    db_conn.execute("DELETE FROM takes WHERE id = %s", (child,))
    assert one(db_conn, "SELECT current_take_id FROM segments WHERE id = %s", segment) is None


def test_job_children_cascade_but_cost_records_keep_the_job(db_conn: Conn, studio: Studio) -> None:
    server, job = studio.add_server(), studio.add_job()
    db_conn.execute(
        "INSERT INTO job_attempts (job_id, attempt_no, server_id, job_status_id, lease_holder) "
        "VALUES (%s, 1, %s, %s, 'ws1:7')",
        (job, server, JobStatus.RUNNING),
    )
    db_conn.execute(
        "INSERT INTO job_events (job_id, job_event_kind_id) VALUES (%s, %s), (%s, %s)",
        (job, JobEventKind.CREATED, job, JobEventKind.CLAIMED),
    )
    db_conn.execute(
        "INSERT INTO node_timings (job_id, node_id, class_type, server_id, seconds) "
        "VALUES (%s, '3', 'KSampler', %s, 4.5)",
        (job, server),
    )
    activity = one(
        db_conn,
        "INSERT INTO activity_events (actor_id, activity_kind_id, job_id) VALUES (%s, %s, %s) RETURNING id",
        studio.user,
        ActivityKind.JOB_QUEUED,
        job,
    )
    cost_sql = (
        "INSERT INTO cost_records (job_id, server_id, gpu_seconds, rate_per_hour, cost) "
        "VALUES (%s, %s, 36, 1.5, 0.015) RETURNING id"
    )
    cost = one(db_conn, cost_sql, job, server)
    with refused(db_conn, errors.RestrictViolation):
        db_conn.execute("DELETE FROM jobs WHERE id = %s", (job,))
    with refused(db_conn, errors.RestrictViolation):  # servers with history are disabled, not deleted
        db_conn.execute("DELETE FROM comfy_servers WHERE id = %s", (server,))
    db_conn.execute("DELETE FROM cost_records WHERE id = %s", (cost,))
    db_conn.execute("DELETE FROM jobs WHERE id = %s", (job,))
    for table in ("job_attempts", "job_events", "node_timings"):
        assert count(db_conn, table) == 0, table
    assert one(db_conn, "SELECT job_id FROM activity_events WHERE id = %s", activity) is None


def test_deleting_a_file_takes_its_hashes_and_embeddings(db_conn: Conn, studio: Studio) -> None:
    file_id = studio.add_file()
    db_conn.execute("INSERT INTO image_hashes (file_id, phash) VALUES (%s, %s::bit(64))", (file_id, "1" * 64))
    db_conn.execute(
        "INSERT INTO face_embeddings (file_id, box_x, box_y, box_w, box_h, embedding) VALUES (%s, 0, 0, 10, 10, %s)",
        (file_id, str([0.0] * 128)),
    )
    db_conn.execute("DELETE FROM files WHERE id = %s", (file_id,))
    assert count(db_conn, "image_hashes") == count(db_conn, "face_embeddings") == 0


def test_comment_replies_and_mentions_go_with_their_comment(db_conn: Conn, studio: Studio) -> None:
    project = studio.add_project()
    reviewer = studio.add_user("rita", UserRole.REVIEWER)
    sql = "INSERT INTO comments (project_id, parent_comment_id, author_id, body) VALUES (%s, %s, %s, %s) RETURNING id"
    root = one(db_conn, sql, project, None, studio.user, "@rita is the hand right?")
    one(db_conn, sql, project, root, reviewer, "Fixed in take 3")
    db_conn.execute("INSERT INTO comment_mentions (comment_id, user_id) VALUES (%s, %s)", (root, reviewer))
    with refused(db_conn, errors.CheckViolation):
        one(db_conn, sql, project, None, studio.user, "   ")
    with refused(db_conn, errors.RestrictViolation):  # comments keep their project
        db_conn.execute("DELETE FROM projects WHERE id = %s", (project,))
    db_conn.execute("DELETE FROM comments WHERE id = %s", (root,))
    assert count(db_conn, "comments") == count(db_conn, "comment_mentions") == 0


# ------------------------------------------------------------------------------- pgvector
def _phash_bits(image: np.ndarray[Any, Any]) -> str:
    return "".join("1" if bit else "0" for bit in imagehash.phash(Image.fromarray(image)).hash.flatten())


def test_perceptual_hashes_find_near_duplicates_by_hamming_distance(db_conn: Conn, studio: Studio) -> None:
    astronaut = skdata.astronaut()
    brighter = np.clip(astronaut.astype(np.int16) + 12, 0, 255).astype(np.uint8)
    photos = {"astronaut": astronaut, "coffee": skdata.coffee(), "chelsea": skdata.chelsea()}
    ids = {}
    for name, image in photos.items():
        ids[name] = studio.add_file()
        db_conn.execute(
            "INSERT INTO image_hashes (file_id, phash) VALUES (%s, %s::bit(64))", (ids[name], _phash_bits(image))
        )
    query = "SELECT file_id, phash <~> %s::bit(64) AS distance FROM image_hashes ORDER BY phash <~> %s::bit(64) LIMIT 2"
    probe = _phash_bits(brighter)
    rows = db_conn.execute(query, (probe, probe)).fetchall()
    assert rows[0][0] == ids["astronaut"]
    assert rows[0][1] <= 4 < rows[1][1]

    with db_conn.transaction():
        db_conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in db_conn.execute("EXPLAIN " + query, (probe, probe)))
    assert "ix_image_hashes_phash_hnsw" in plan


def test_face_embeddings_nearest_neighbour_by_l2(db_conn: Conn, studio: Studio) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 128)).astype(np.float32)
    file_id = studio.add_file()
    with db_conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO face_embeddings (file_id, frame_index, box_x, box_y, box_w, box_h, embedding) "
            "VALUES (%s, %s, 10, 20, 64, 64, %s)",
            [(file_id, i, str(v.tolist())) for i, v in enumerate(vectors)],
        )
    probe = str((vectors[17] + rng.normal(scale=0.01, size=128)).tolist())
    query = "SELECT frame_index FROM face_embeddings ORDER BY embedding <-> %s::vector LIMIT 3"
    with db_conn.transaction():
        db_conn.execute("SET LOCAL hnsw.ef_search = 200")
        assert db_conn.execute(query, (probe,)).fetchall()[0][0] == 17
        db_conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in db_conn.execute("EXPLAIN " + query, (probe,)))
    assert "ix_face_embeddings_embedding_hnsw" in plan


def test_orm_models_round_trip_vectors_and_bits(db_session: Session) -> None:
    user = User(role_name="orm_user", display_name="Orm", user_role_id=UserRole.ADMIN)
    db_session.add(user)
    db_session.flush()
    file = File(
        sha256="ab" * 32,
        rel_path="media/ab/orm.png",
        size_bytes=10,
        file_kind_id=FileKind.IMAGE,
        retention_class_id=RetentionClass.PERMANENT,
        created_by=user.id,
    )
    db_session.add(file)
    db_session.flush()
    db_session.add_all(
        [
            ImageHash(file_id=file.id, frame_index=0, phash="0" * 64),
            ImageHash(file_id=file.id, frame_index=1, phash="1" * 64),
            FaceEmbedding(file_id=file.id, box_x=0, box_y=0, box_w=5, box_h=5, embedding=[0.5] * 128),
        ]
    )
    db_session.commit()
    nearest = db_session.scalars(
        select(ImageHash.frame_index).order_by(ImageHash.phash.hamming_distance("1" * 63 + "0")).limit(1)
    ).one()
    assert nearest == 1
    distance = db_session.scalars(select(FaceEmbedding.embedding.l2_distance([0.5] * 127 + [1.5]))).one()
    assert distance == pytest.approx(1.0)
    assert db_session.get(User, user.id) is not None
    assert file.created_at is not None
