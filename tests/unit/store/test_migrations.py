"""The Alembic migrations and the table definitions describe the same schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from efir.store import Store
from efir.store.tables import metadata


async def test_migrated_schema_matches_the_tables(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await store.open()

    def diff(conn: object) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await store.open()  # idempotent: a second start migrates nothing
    await store.close()
