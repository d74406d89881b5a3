"""A database error at shutdown still releases the sender lease; store errors are StoreErrors."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from efir.store import StoreDataError, StoreError, StoreUnavailableError
from efir.store.database import translate
from tests.unit.api.inprocess import in_process


@pytest.mark.parametrize("error", [StoreDataError("value too long"), RuntimeError("bug")])
async def test_the_lease_is_released_whatever_the_last_evaluation_raises(
    tmp_path: Path, error: Exception
) -> None:
    async with in_process(tmp_path) as (_, service):
        released: list[bool] = []

        async def evaluate(*_: object) -> int:
            raise error

        async def release() -> None:
            released.append(True)

        service.alerter.evaluate = evaluate  # type: ignore[method-assign]
        service.leadership.release = release  # type: ignore[method-assign]
        idle = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(4)]
        await service._stop_alerting(*idle)
        assert released == [True]
        await asyncio.sleep(0)
        assert all(t.cancelled() for t in idle[:3])


class _GoneEngine:
    """An engine whose database went away: every connection fails as the driver says."""

    def _fail(self) -> None:
        msg = "SELECT"
        raise OperationalError(msg, {}, sqlite3.OperationalError("disk I/O error"))

    def begin(self) -> None:
        self._fail()

    def connect(self) -> None:
        self._fail()


async def test_store_methods_raise_store_errors_only(tmp_path: Path) -> None:
    """save_windows and prune used to leak OperationalError once the database was gone."""
    async with in_process(tmp_path) as (_, service):
        store = service.store
        engine = store.engine
        store.engine = _GoneEngine()  # type: ignore[assignment]
        try:
            for call in (
                store.prune(0),
                store.save_windows([]),
                store.count_events(),
                store.feeds(),
                store.dead(),
            ):
                with pytest.raises(StoreError):
                    await call
        finally:
            store.engine = engine


def test_driver_errors_are_translated_by_what_they_concern() -> None:
    gone = OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
    assert isinstance(translate(gone), StoreUnavailableError)

    class TruncationError(Exception):
        sqlstate = "22001"

    assert isinstance(translate(OperationalError("INSERT", {}, TruncationError())), StoreDataError)
    assert isinstance(
        translate(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate")), StoreDataError
    )
