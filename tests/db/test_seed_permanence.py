"""Seed A and Seed B images are permanent for every role, the owner and superusers included.

Triggers fire for superusers too, so the rule holds even on the embedded single-user
database that runs as the superuser. Choosing the hero and editing the note stay allowed;
files used by seeds cannot be deleted (ON DELETE RESTRICT).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import CharacterMode, SeedKind, SeedOrigin

__all__ = ["secure_studio"]

RESTRICT_VIOLATION = "23001"
OWNER = "owner"
"""The superuser acting as the table owner (SET ROLE x121_owner)."""
ROLES = [SUPERUSER, OWNER, "admin", "creator"]

Act = Callable[[psycopg.Connection[Any], SecureStudio], Any]


def _run(studio: SecureStudio, who: str, act: Act) -> Any:
    conn = studio.connect(SUPERUSER if who == OWNER else who)
    try:
        if who == OWNER:
            conn.execute("SET ROLE x121_owner")
        return act(conn, studio)
    except psycopg.Error as exc:
        return exc
    finally:
        conn.rollback()
        conn.close()


def _sql(sql: str, *keys: str) -> Act:
    return lambda conn, s: conn.execute(sql, tuple(s.ids[k] for k in keys)).rowcount  # type: ignore[arg-type]


def _move_seed_to_new_character(conn: psycopg.Connection[Any], s: SecureStudio) -> int:
    other = conn.execute(
        "INSERT INTO characters (project_id, name, character_mode_id) VALUES (%s, 'Bea', %s) RETURNING id",
        (s.ids["project"], CharacterMode.FORWARD),
    ).fetchone()
    assert other is not None
    return conn.execute("UPDATE seed_images SET character_id = %s WHERE id = %s", (other[0], s.ids["seed_a"])).rowcount


def _delete_character_with_seed(conn: psycopg.Connection[Any], s: SecureStudio) -> int:
    """A fresh character whose only dependant is one seed image, then delete the character."""
    other = conn.execute(
        "INSERT INTO characters (project_id, name, character_mode_id) VALUES (%s, 'Cy', %s) RETURNING id",
        (s.ids["project"], CharacterMode.FORWARD),
    ).fetchone()
    assert other is not None
    conn.execute(
        "INSERT INTO seed_images (character_id, seed_kind_id, file_id, seed_origin_id) VALUES (%s, %s, %s, %s)",
        (other[0], SeedKind.B, s.ids["file_free"], SeedOrigin.GIVEN),
    )
    return conn.execute("DELETE FROM characters WHERE id = %s", (other[0],)).rowcount


FORBIDDEN: dict[str, tuple[Act, str]] = {
    "delete seed A": (_sql("DELETE FROM seed_images WHERE id = %s", "seed_a"), RESTRICT_VIOLATION),
    "delete seed B": (_sql("DELETE FROM seed_images WHERE id = %s", "seed_b"), RESTRICT_VIOLATION),
    "delete every seed": (_sql("DELETE FROM seed_images"), RESTRICT_VIOLATION),
    "overwrite file_id": (
        _sql("UPDATE seed_images SET file_id = %s WHERE id = %s", "file_free", "seed_a"),
        RESTRICT_VIOLATION,
    ),
    "swap seed kind": (
        _sql("UPDATE seed_images SET seed_kind_id = 3 - seed_kind_id WHERE id = %s", "seed_a"),
        RESTRICT_VIOLATION,
    ),
    "move to another character": (_move_seed_to_new_character, RESTRICT_VIOLATION),
    "change origin": (
        lambda conn, s: (
            conn.execute(
                "UPDATE seed_images SET seed_origin_id = %s WHERE id = %s", (SeedOrigin.GENERATED, s.ids["seed_b"])
            ).rowcount
        ),
        RESTRICT_VIOLATION,
    ),
    "rewrite lineage": (
        _sql("UPDATE seed_images SET parent_seed_id = %s WHERE id = %s", "seed_a", "seed_b"),
        RESTRICT_VIOLATION,
    ),
    # CASCADE: a plain TRUNCATE is already refused by tables referencing seeds (library_meta); the
    # trigger must refuse even when those are truncated along with it.
    "truncate seed_images cascade": (_sql("TRUNCATE seed_images CASCADE"), RESTRICT_VIOLATION),
    "truncate files cascade": (_sql("TRUNCATE files CASCADE"), RESTRICT_VIOLATION),
    "delete a seed's file": (_sql("DELETE FROM files WHERE id = %s", "file_a"), RESTRICT_VIOLATION),
    "delete a character with seeds": (_delete_character_with_seed, RESTRICT_VIOLATION),
}
FK_GUARDED = {
    "delete a seed's file": "fk_seed_images_file_id_files",
    "delete a character with seeds": "fk_seed_images_character_id_characters",
}
"""Refused by ON DELETE RESTRICT (not by the trigger): the constraint that refused."""
# Only the owner and superusers may TRUNCATE or delete files at all; for the others the
# act is already refused by privileges (42501), which the privilege tests cover.
PRIVILEGED_ONLY = {"truncate seed_images cascade", "truncate files cascade"}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("name", list(FORBIDDEN))
def test_nobody_deletes_or_overwrites_a_seed(secure_studio: SecureStudio, who: str, name: str) -> None:
    act, refusal = FORBIDDEN[name]
    outcome = _run(secure_studio, who, act)
    assert isinstance(outcome, psycopg.Error), f"{who} could {name}"
    if name in PRIVILEGED_ONLY and who not in (SUPERUSER, OWNER):
        assert outcome.sqlstate == "42501"
    elif name == "delete a seed's file" and who == "creator":
        assert outcome.sqlstate == "42501"  # creators may not delete files at all
    else:
        assert outcome.sqlstate == refusal, f"{who} / {name}: {outcome.sqlstate} {outcome}"
        assert outcome.diag.constraint_name == FK_GUARDED.get(name), outcome


@pytest.mark.parametrize("who", ROLES)
def test_hero_and_note_stay_editable(secure_studio: SecureStudio, who: str) -> None:
    def choose_new_hero(conn: psycopg.Connection[Any], s: SecureStudio) -> tuple[int, ...]:
        new_seed = conn.execute(
            "INSERT INTO seed_images (character_id, seed_kind_id, file_id, seed_origin_id, parent_seed_id) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (s.ids["character"], SeedKind.A, s.ids["file_free"], SeedOrigin.GENERATED, s.ids["seed_a"]),
        ).fetchone()
        assert new_seed is not None
        cleared = conn.execute("UPDATE seed_images SET is_hero = false WHERE id = %s", (s.ids["seed_a"],)).rowcount
        chosen = conn.execute(
            "UPDATE seed_images SET is_hero = true, note = 'sharper eyes' WHERE id = %s", (new_seed[0],)
        ).rowcount
        noted = conn.execute("UPDATE seed_images SET note = 'original' WHERE id = %s", (s.ids["seed_a"],)).rowcount
        unchanged = conn.execute(
            "UPDATE seed_images SET character_id = character_id, file_id = file_id WHERE id = %s", (s.ids["seed_b"],)
        ).rowcount
        return cleared, chosen, noted, unchanged

    outcome = _run(secure_studio, who, choose_new_hero)
    assert outcome == (1, 1, 1, 1), outcome


def test_the_rule_survives_in_the_catalog(secure_studio: SecureStudio) -> None:
    """Both triggers are enabled (tgenabled 'O'), so nothing short of DDL by the owner turns them off."""
    with secure_studio.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'seed_images'::regclass "
            "AND tgname LIKE 'x121_seed_images_%' ORDER BY tgname"
        ).fetchall()
    assert rows == [("x121_seed_images_no_truncate", "O"), ("x121_seed_images_permanent", "O")]
