"""Database schema, one list of migrations per dialect, applied in order on start.

Column types differ only where the dialects do: the tables, keys and indexes are the
same on both backends.
"""

from __future__ import annotations

_COMMON = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY", "bigint": "INTEGER", "bool": "INTEGER", "blob": "BLOB"},
    "postgresql": {
        "pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "bigint": "BIGINT",
        "bool": "BOOLEAN",
        "blob": "BYTEA",
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


def migrations(dialect: str) -> list[list[str]]:
    """Statements of each schema version, oldest first."""
    types = _COMMON[dialect]
    return [_v1(types)]
