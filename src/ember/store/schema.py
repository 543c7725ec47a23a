"""Database schema, one list of migrations per dialect, applied in order on start.

Column types differ only where the dialects do: the tables, keys and indexes are the
same on both backends.
"""

from __future__ import annotations

import json

from ember.fhir import definitions
from ember.store.base import INDEX_TABLES, MAX_INDEXED_CHARS, is_capped

_COMMON = {
    "sqlite": {
        "pk": "INTEGER PRIMARY KEY",
        "bigint": "INTEGER",
        "bool": "INTEGER",
        "blob": "BLOB",
        "double": "REAL",
        "text": "TEXT",
        "false": "0",
        "true": "1",
    },
    "postgresql": {
        "pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "bigint": "BIGINT",
        "bool": "BOOLEAN",
        "blob": "BYTEA",
        "double": "DOUBLE PRECISION",
        # code-point order, as SQLite compares: sorting and ranges agree on both backends
        "text": 'TEXT COLLATE "C"',
        "false": "FALSE",
        "true": "TRUE",
    },
}


def _v1(t: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE resources (
            pk {t["pk"]},
            type TEXT NOT NULL,
            id TEXT NOT NULL,
            version {t["bigint"]} NOT NULL,
            last_updated {t["bigint"]} NOT NULL,
            deleted {t["bool"]} NOT NULL,
            UNIQUE (type, id)
        )""",
        f"""CREATE TABLE resource_versions (
            seq {t["pk"]},
            res_pk {t["bigint"]} NOT NULL REFERENCES resources (pk),
            version {t["bigint"]} NOT NULL,
            last_updated {t["bigint"]} NOT NULL,
            method TEXT NOT NULL,
            content {t["blob"]},
            UNIQUE (res_pk, version)
        )""",
        "CREATE INDEX resource_versions_last_updated ON resource_versions (last_updated)",
        f"""CREATE TABLE token_index (
            res_pk {t["bigint"]} NOT NULL REFERENCES resources (pk),
            param TEXT NOT NULL,
            system TEXT,
            code TEXT NOT NULL
        )""",
        "CREATE INDEX token_index_lookup ON token_index (param, code, system)",
        "CREATE INDEX token_index_resource ON token_index (res_pk)",
    ]


def _index_table(t: dict[str, str], name: str, columns: str, lookup: str) -> list[str]:
    return [
        f"CREATE TABLE {name} ("
        f"res_pk {t['bigint']} NOT NULL REFERENCES resources (pk), param TEXT NOT NULL, "
        f"{columns})",
        f"CREATE INDEX {name}_lookup ON {name} (param, {lookup})",
        f"CREATE INDEX {name}_resource ON {name} (res_pk)",
    ]


def _v2(t: dict[str, str]) -> list[str]:
    """Typed index tables for every kind of search parameter (search.html)."""
    text, double, bigint = t["text"], t["double"], t["bigint"]
    return [
        "CREATE INDEX resources_type_updated ON resources (type, last_updated)",
        *_index_table(
            t, "string_index", f"normalized {text} NOT NULL, exact {text} NOT NULL", "normalized"
        ),
        *_index_table(t, "token_text_index", f"normalized {text} NOT NULL", "normalized"),
        *_index_table(
            t, "date_index", f"low {bigint} NOT NULL, high {bigint} NOT NULL", "low, high"
        ),
        *_index_table(
            t,
            "reference_index",
            f"target_type {text}, target_id {text}, target_version {text}, url {text} NOT NULL",
            "target_id, target_type",
        ),
        *_index_table(t, "number_index", f"value {double} NOT NULL", "value"),
        *_index_table(
            t,
            "quantity_index",
            f"system {text}, code {text}, value {double} NOT NULL, "
            f"canonical_unit {text}, canonical_value {double}",
            "code, value",
        ),
        *_index_table(t, "uri_index", f"value {text} NOT NULL", "value"),
        "CREATE INDEX reference_index_url ON reference_index (param, url)",
        "CREATE INDEX quantity_index_canonical ON quantity_index "
        "(param, canonical_unit, canonical_value)",
    ]


def _v3(t: dict[str, str]) -> list[str]:
    """Background index rebuilds, resumable after a restart; resources stored before v2
    have no typed index rows, so a store that has any gets a rebuild of everything."""
    return [
        f"""CREATE TABLE search_jobs (
            pk {t["pk"]},
            params TEXT,
            next_pk {t["bigint"]} NOT NULL,
            done {t["bigint"]} NOT NULL,
            total {t["bigint"]} NOT NULL,
            finished {t["bool"]} NOT NULL
        )""",
        "INSERT INTO search_jobs (params, next_pk, done, total, finished) "
        "SELECT NULL, 0, 0, (SELECT COUNT(*) FROM resources), "
        f"{t['false']} WHERE EXISTS (SELECT 1 FROM resources)",
    ]


def _v4() -> list[str]:
    """Index rows by (resource, parameter): sort keys are looked up per resource."""
    tables = [
        "token_index",
        "token_text_index",
        "string_index",
        "date_index",
        "reference_index",
        "number_index",
        "quantity_index",
        "uri_index",
    ]
    return [
        statement
        for table in tables
        for statement in (
            f"DROP INDEX {table}_resource",
            f"CREATE INDEX {table}_resource ON {table} (res_pk, param)",
        )
    ]


def _v5(t: dict[str, str], dialect: str) -> list[str]:
    """Custom SearchParameters and full-text search (_text, _content).

    `search_registry` holds one number that changes with every change to the stored
    SearchParameters: workers compare it with the one they loaded. Jobs name the
    resource types they rebuild. Full text lives in an FTS5 table on SQLite and in
    tsvector columns with GIN indexes on PostgreSQL; either way one row per resource,
    keyed by the resource's pk (`rowid`). Stores with data get a rebuild for it (unless one of
    everything is due anyway)."""
    if dialect == "sqlite":
        fulltext = [
            "CREATE VIRTUAL TABLE fulltext_index USING fts5(narrative, content, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        ]
    else:
        fulltext = [
            "CREATE TABLE fulltext_index (rowid BIGINT PRIMARY KEY REFERENCES resources (pk), "
            "narrative TSVECTOR NOT NULL, content TSVECTOR NOT NULL)",
            "CREATE INDEX fulltext_index_narrative ON fulltext_index USING GIN (narrative)",
            "CREATE INDEX fulltext_index_content ON fulltext_index USING GIN (content)",
        ]
    return [
        f"CREATE TABLE search_registry (generation {t['bigint']} NOT NULL)",
        "INSERT INTO search_registry (generation) VALUES (0)",
        "ALTER TABLE search_jobs ADD COLUMN types TEXT",
        *fulltext,
        # SearchParameters stored before come in force now: then every parameter counts
        "INSERT INTO search_jobs (params, next_pk, done, total, finished) "
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM resources WHERE type = 'SearchParameter') "
        'THEN NULL ELSE \'["_text", "_content"]\' END, 0, 0, (SELECT COUNT(*) FROM resources), '
        f"{t['false']} WHERE EXISTS (SELECT 1 FROM resources) AND NOT EXISTS "
        f"(SELECT 1 FROM search_jobs WHERE params IS NULL AND finished = {t['false']})",
    ]


def _v6(t: dict[str, str]) -> list[str]:
    """Whether full-text rows are being written (EMBER_FULLTEXT): a server that turns it
    on finds out it was off, and rebuilds them."""
    return [
        f"ALTER TABLE search_registry ADD COLUMN fulltext {t['bool']} NOT NULL DEFAULT {t['true']}"
    ]


def _v7(t: dict[str, str]) -> list[str]:
    """Composite parameters (search.html#composite): a row per value of each component of
    each item, numbered so that the components of one item are matched together; stored
    resources get their rows from a rebuild of those parameters (unless one of everything
    is due anyway)."""
    text, double, bigint = t["text"], t["double"], t["bigint"]
    return [
        f"""CREATE TABLE composite_index (
            res_pk {bigint} NOT NULL REFERENCES resources (pk),
            param TEXT NOT NULL,
            item {bigint} NOT NULL,
            component {bigint} NOT NULL,
            system {text}, code {text},
            value {double}, canonical_unit {text}, canonical_value {double},
            low {bigint}, high {bigint},
            normalized {text}, exact {text},
            target_type {text}, target_id {text}, target_version {text}, url {text}
        )""",
        "CREATE INDEX composite_index_lookup ON composite_index (param, component, code)",
        "CREATE INDEX composite_index_resource ON composite_index (res_pk, param, item)",
        "INSERT INTO search_jobs (params, next_pk, done, total, finished) "
        f"SELECT '{_composite_codes()}', 0, 0, (SELECT COUNT(*) FROM resources), "
        f"{t['false']} WHERE EXISTS (SELECT 1 FROM resources) AND NOT EXISTS "
        f"(SELECT 1 FROM search_jobs WHERE params IS NULL AND finished = {t['false']})",
    ]


def _composite_codes() -> str:
    """The codes of the composite parameters R4 defines, as a JSON list (safe in SQL: no
    quotes in them)."""
    shipped = definitions.load("r4", "SearchParameter")
    return json.dumps(sorted({sp["code"] for sp in shipped if sp["type"] == "composite"}))


# Per index table: the lookup columns (search by value) and the value columns a search
# reads per resource (_sort keys, _has and _include targets).
_SEARCH_COLUMNS = {
    "token_index": ("param, code, system", "code, system"),
    "token_text_index": ("param, normalized", "normalized"),
    "string_index": ("param, normalized", "normalized"),
    "date_index": ("param, low, high", "low, high"),
    "reference_index": ("param, target_id, target_type", "target_type, target_id, url"),
    "number_index": ("param, value", "value"),
    "quantity_index": ("param, code, value", "value"),
    "uri_index": ("param, value", "value"),
}


def _v8(dialect: str) -> list[str]:
    """Covering search indexes: a lookup by value yields res_pk from the index alone and a
    lookup by resource yields its values, so neither reads the table rows. ANALYZE gives
    the planners the statistics to start from the selective index, not the type."""
    statements = []
    if dialect == "postgresql":
        # the collation of reference_index.target_type: joins on (type, id) use the
        # unique index instead of hashing every resource
        statements.append('ALTER TABLE resources ALTER COLUMN type TYPE TEXT COLLATE "C"')
    for table, (lookup, values) in _SEARCH_COLUMNS.items():
        statements += [
            f"DROP INDEX {table}_lookup",
            f"CREATE INDEX {table}_lookup ON {table} ({lookup}, res_pk)",
            f"DROP INDEX {table}_resource",
            f"CREATE INDEX {table}_resource ON {table} (res_pk, param, {values})",
        ]
    # live resources of a type in pk order: a search without a selective criterion reads
    # them in page order and stops after a page
    statements.append("CREATE INDEX resources_type_live ON resources (type, deleted, pk)")
    return [*statements, "ANALYZE"]


def _v9() -> list[str]:
    """Index values written before they were cut to MAX_INDEXED_CHARS are cut too, so
    searches (which cut their values alike) find them."""
    statements = []
    for table, columns in INDEX_TABLES.values():
        for column in columns:
            if is_capped(table, column):
                statements.append(
                    f"UPDATE {table} SET {column} = substr({column}, 1, {MAX_INDEXED_CHARS}) "
                    f"WHERE length({column}) > {MAX_INDEXED_CHARS}"
                )
    return statements


def _v10(t: dict[str, str]) -> list[str]:
    """Contained resources searched on their own (search.html#contained): each is a row
    of `resources` pointing at its container (see CONTAINED_PREFIX); stored resources
    get theirs from a rebuild of everything (unless one is due anyway), which does the
    work of any rebuild of some parameters still due."""
    return [
        f"ALTER TABLE resources ADD COLUMN container {t['bigint']} REFERENCES resources (pk)",
        "CREATE INDEX resources_container ON resources (container)",
        f"UPDATE search_jobs SET finished = {t['true']} WHERE finished = {t['false']} "
        "AND params IS NOT NULL AND EXISTS (SELECT 1 FROM resources)",
        "INSERT INTO search_jobs (params, next_pk, done, total, finished) "
        f"SELECT NULL, 0, 0, (SELECT COUNT(*) FROM resources), {t['false']} "
        "WHERE EXISTS (SELECT 1 FROM resources) AND NOT EXISTS "
        f"(SELECT 1 FROM search_jobs WHERE params IS NULL AND finished = {t['false']})",
    ]


def migrations(dialect: str) -> list[list[str]]:
    """Statements of each schema version, oldest first."""
    types = _COMMON[dialect]
    v2 = _v2(types)
    if dialect == "postgresql":
        # ids sort in code-point order, as on SQLite (_sort=_id, paging cursors)
        v2.append('ALTER TABLE resources ALTER COLUMN id TYPE TEXT COLLATE "C"')
    return [
        *(_v1(types), v2, _v3(types), _v4(), _v5(types, dialect), _v6(types), _v7(types)),
        _v8(dialect),
        _v9(),
        _v10(types),
    ]
