"""Field encryption at rest: envelope encryption with one data key per person.

Each person's data key (32 random bytes) is stored wrapped by the key-encryption key (KEK)
from settings, which never enters the database. Texts are sealed with AES-GCM under the
author's data key, with associated data naming the table, row, author and field, so a
ciphertext copied into another row (or another column) fails to open instead of being served.
Rotating the KEK re-wraps the data keys only; entries stay as they are. Destroying a
person's data key makes whatever copies of their entries remain (backups) unreadable.
"""

import hashlib
import hmac
import logging
import os
import uuid
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from tandem.core.db import optional_timestamp, timestamp, utcnow
from tandem.core.errors import IntegrityFailure

log = logging.getLogger("tandem.crypto")

NONCE_BYTES = 12
# First byte of every sealed value: the format, so the algorithm can change one day.
FORMAT_V1 = b"\x01"


class UserDataKey(SQLModel, table=True):
    __tablename__ = "user_data_key"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="user_account.id", ondelete="CASCADE")
    # Which KEK wrapped this key (a fingerprint, not the key): rotation skips rows already
    # re-wrapped, and a wrong KEK is reported as such instead of as corrupt data.
    kek_id: str = Field(max_length=32)
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp()
    rotated_at: datetime | None = optional_timestamp()


def kek_id(kek: bytes) -> str:
    return "k1-" + hmac.new(kek, b"tandem key-encryption key id", hashlib.sha256).hexdigest()[:16]


def _wrap_aad(user_id: uuid.UUID) -> bytes:
    return b"tandem:data-key:v1:" + str(user_id).encode()


def wrap(kek: bytes, *, user_id: uuid.UUID, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(kek).encrypt(nonce, data_key, _wrap_aad(user_id))


def unwrap(kek: bytes, *, user_id: uuid.UUID, wrapped: bytes) -> bytes:
    if wrapped[:1] != FORMAT_V1:
        raise InvalidTag()
    nonce, sealed = wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :]
    return AESGCM(kek).decrypt(nonce, sealed, _wrap_aad(user_id))


def _entry_aad(*, table: str, row_id: uuid.UUID, author_id: uuid.UUID, field: str) -> bytes:
    return f"tandem:v1:{table}:{row_id}:{author_id}:{field}".encode()


class Keyring:
    """The data keys one unit of work needs, each unwrapped at most once.

    Make one per request (or per CLI run): a list of fifty entries by two authors unwraps two
    keys, not fifty. It holds plain keys in memory, so it must not outlive the request.
    """

    def __init__(self, session: Session, kek: bytes):
        self._session = session
        self._kek = kek
        self._kek_id = kek_id(kek)
        self._ciphers: dict[uuid.UUID, AESGCM] = {}

    def preload(self, user_ids: set[uuid.UUID]) -> None:
        """Unwrap the data keys of these authors with one query (a read across many couples
        would otherwise cost a query per author)."""
        wanted = [u for u in user_ids if u not in self._ciphers]
        if not wanted:
            return
        for row in self._session.exec(
            select(UserDataKey).where(col(UserDataKey.user_id).in_(wanted))
        ):
            self._ciphers[row.user_id] = AESGCM(self._unwrap(row))

    def _cipher(self, user_id: uuid.UUID, *, create: bool) -> AESGCM:
        cipher = self._ciphers.get(user_id)
        if cipher is None:
            cipher = AESGCM(self._data_key(user_id, create=create))
            self._ciphers[user_id] = cipher
        return cipher

    def _data_key(self, user_id: uuid.UUID, *, create: bool) -> bytes:
        row = self._session.get(UserDataKey, user_id)
        if row is None:
            if not create:
                # No key means the author's account was deleted with its key: nothing to open.
                log.error("no data key for user %s", user_id)
                raise IntegrityFailure()
            return self._create(user_id)
        return self._unwrap(row)

    def _unwrap(self, row: UserDataKey) -> bytes:
        user_id = row.user_id
        if row.kek_id != self._kek_id:
            log.error(
                "data key of user %s is wrapped by key %s, but the configured key is %s",
                user_id,
                row.kek_id,
                self._kek_id,
            )
            raise IntegrityFailure()
        try:
            return unwrap(self._kek, user_id=user_id, wrapped=row.wrapped_key)
        except InvalidTag as exc:
            log.error("data key of user %s failed to unwrap", user_id)
            raise IntegrityFailure() from exc

    def _create(self, user_id: uuid.UUID) -> bytes:
        data_key = AESGCM.generate_key(bit_length=256)
        row = UserDataKey(
            user_id=user_id,
            kek_id=self._kek_id,
            wrapped_key=wrap(self._kek, user_id=user_id, data_key=data_key),
        )
        try:
            # A savepoint: two first writes racing on PostgreSQL must not both make a key.
            with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            return self._data_key(user_id, create=False)
        return data_key

    def seal(
        self, text: str, *, table: str, row_id: uuid.UUID, author_id: uuid.UUID, field: str
    ) -> bytes:
        cipher = self._cipher(author_id, create=True)
        nonce = os.urandom(NONCE_BYTES)
        aad = _entry_aad(table=table, row_id=row_id, author_id=author_id, field=field)
        return FORMAT_V1 + nonce + cipher.encrypt(nonce, text.encode(), aad)

    def open(
        self, sealed: bytes, *, table: str, row_id: uuid.UUID, author_id: uuid.UUID, field: str
    ) -> str:
        cipher = self._cipher(author_id, create=False)
        aad = _entry_aad(table=table, row_id=row_id, author_id=author_id, field=field)
        try:
            if sealed[:1] != FORMAT_V1:
                raise InvalidTag()
            nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
            return cipher.decrypt(nonce, body, aad).decode()
        except (InvalidTag, UnicodeDecodeError) as exc:
            # Ids only: the content is exactly what must never reach a log.
            log.error("%s %s field %s failed to decrypt", table, row_id, field)
            raise IntegrityFailure() from exc


def destroy_data_key(session: Session, *, user_id: uuid.UUID) -> None:
    """Forget a person's data key (account deletion; the caller commits)."""
    session.execute(delete(UserDataKey).where(col(UserDataKey.user_id) == user_id))


def rotate_data_keys(session: Session, *, old_kek: bytes, new_kek: bytes, batch: int = 500) -> int:
    """Re-wrap every data key wrapped by `old_kek` under `new_kek`, committing in batches.

    Rows already wrapped by the new key are skipped, so an interrupted rotation is finished by
    running it again. Returns how many keys were re-wrapped. A key wrapped by neither key is
    an error: the operator is holding the wrong key.
    """
    old_id, new_id = kek_id(old_kek), kek_id(new_kek)
    if old_id == new_id:
        raise ValueError("the new key is the current key")
    strangers = session.exec(
        select(UserDataKey.user_id).where(col(UserDataKey.kek_id).not_in([old_id, new_id]))
    ).first()
    if strangers is not None:
        raise ValueError("some data keys are wrapped by neither the current nor the new key")
    done = 0
    while True:
        rows = session.exec(
            select(UserDataKey)
            .where(UserDataKey.kek_id == old_id)
            .order_by(col(UserDataKey.user_id))
            .limit(batch)
        ).all()
        if not rows:
            return done
        for row in rows:
            try:
                data_key = unwrap(old_kek, user_id=row.user_id, wrapped=row.wrapped_key)
            except InvalidTag as exc:
                session.rollback()
                raise ValueError(f"the data key of user {row.user_id} does not unwrap") from exc
            row.wrapped_key = wrap(new_kek, user_id=row.user_id, data_key=data_key)
            row.kek_id = new_id
            row.rotated_at = utcnow()
            session.add(row)
        session.commit()
        done += len(rows)
