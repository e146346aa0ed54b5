"""Slack retries: a request key takes effect the first time only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlite_utils import Database

from storage import claim_request, forget_requests, open_database
from tests.storage.conftest import T0


def test_a_request_key_is_claimed_once(db: Database) -> None:
    assert claim_request(db, "U0OLGA:approve:1764712800.000100", T0) is True
    assert claim_request(db, "U0OLGA:approve:1764712800.000100", T0) is False
    assert claim_request(db, "U0OLGA:approve:1764712801.000200", T0) is True


def test_a_claim_survives_a_restart(db: Database, db_path: Path) -> None:
    assert claim_request(db, "Ev0123", T0)
    db.close()
    reopened = open_database(db_path)
    assert claim_request(reopened, "Ev0123", T0 + timedelta(minutes=1)) is False
    reopened.close()


def test_forgetting_old_keys_lets_only_them_be_claimed_again(db: Database) -> None:
    claim_request(db, "old", T0 - timedelta(days=2))
    claim_request(db, "new", T0)
    assert forget_requests(db, claimed_before=T0 - timedelta(days=1)) == 1
    assert claim_request(db, "old", T0) is True
    assert claim_request(db, "new", T0) is False
