"""Every lookup table and its Python enum agree, id + code + label, both ways (ARCHITECTURE §6.7).

The rows come from a database built by the migrations (not from the models), so a new enum
member without a revision that seeds it fails here, and so does a seeded row without a member.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import SmallInteger, inspect, text
from sqlalchemy.engine import Engine

from x121_desktop.core.enums import LOOKUP_ENUMS, LookupEnum
from x121_desktop.db.models import LOOKUP_ROWS, Base

LOOKUP_TABLES = sorted(LOOKUP_ENUMS)
STATE_WORDS = re.compile(r"(status|state|role|kind|reason|mode|grade|policy|origin|verdict|class)(_id)?$")


def _rows(engine: Engine, table: str) -> set[tuple[int, str, str]]:
    with engine.connect() as conn:
        return {(r.id, r.code, r.label) for r in conn.execute(text(f'SELECT id, code, label FROM "{table}"'))}


def _enum_rows(enum: type[LookupEnum]) -> set[tuple[int, str, str]]:
    return {(member.value, member.code, member.label) for member in enum}


@pytest.mark.parametrize("table", LOOKUP_TABLES)
def test_migrated_lookup_rows_equal_the_enum(db_engine: Engine, table: str) -> None:
    enum = LOOKUP_ENUMS[table]
    in_db, in_code = _rows(db_engine, table), _enum_rows(enum)
    assert in_db - in_code == set(), f"{table}: rows with no (or a different) {enum.__name__} member"
    assert in_code - in_db == set(), f"{enum.__name__}: members no migration seeds into {table}"


def test_every_lookup_table_has_an_enum_and_every_enum_a_table(db_engine: Engine) -> None:
    modelled = {row.__tablename__ for row in LOOKUP_ROWS}  # type: ignore[attr-defined]
    lookup_shaped = {
        name
        for name in inspect(db_engine).get_table_names()
        if [c["name"] for c in inspect(db_engine).get_columns(name)] == ["id", "code", "label"]
    }
    assert modelled == set(LOOKUP_ENUMS) == lookup_shaped


def test_enum_codes_are_lower_snake_case_and_ids_start_at_one() -> None:
    for table, enum in LOOKUP_ENUMS.items():
        assert sorted(m.value for m in enum) == list(range(1, len(enum) + 1)), table
        for member in enum:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", member.code), member
            assert member.label.strip() == member.label != "", member
            assert enum.from_code(member.code) is member


def test_no_free_text_state_columns() -> None:
    """Every status/role/kind/... column is a smallint FK to a lookup table, named `<lookup>_id`."""
    offenders = []
    for table in Base.metadata.sorted_tables:
        if table.name in LOOKUP_ENUMS:
            continue
        for column in table.columns:
            if not STATE_WORDS.search(column.name):
                continue
            targets = {fk.column.table.name for fk in column.foreign_keys}
            ok = (
                isinstance(column.type, SmallInteger)
                and len(targets) == 1
                and targets <= set(LOOKUP_ENUMS)
                and column.name == f"{next(iter(targets))}_id"
            )
            if not ok:
                offenders.append(f"{table.name}.{column.name}")
        for column in table.columns:
            for fk in column.foreign_keys:
                if fk.column.table.name in LOOKUP_ENUMS:
                    assert isinstance(column.type, SmallInteger), f"{table.name}.{column.name}"
                    assert fk.ondelete == "RESTRICT", f"{table.name}.{column.name}"
    assert offenders == []
