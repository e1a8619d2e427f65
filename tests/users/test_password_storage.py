"""What the store keeps of a password: an Argon2id hash, never the password, read from
the server's own database (PaddleFlow keeps a bcrypt hash: pkg/apiserver/controller/
user/user.go EncodePassWord); and the signing secret's file mode."""

from __future__ import annotations

import sqlite3
import stat

from dagwire.v1 import user_request_response_pb2 as ur
from dagwire.v1 import user_service_pb2_grpc as urpc
from tests.conftest import ServerThread
from tests.users.conftest import OPS, ROOT_PASSWORD


async def test_the_stored_hash_is_not_the_password(
    users: urpc.UserServiceStub, dagwire_server: ServerThread
) -> None:
    password = "storedpass1"
    await users.AddUser(ur.AddUserRequest(username="olga", password=password), metadata=OPS)
    database = dagwire_server.config.data_dir / "dagwire.db"
    with sqlite3.connect(database) as conn:
        rows = dict(conn.execute("SELECT name, password_hash FROM users").fetchall())
    assert set(rows) == {"olga", "root"}
    for name, secret in (("olga", password), ("root", ROOT_PASSWORD)):
        assert rows[name].startswith("$argon2id$")
        assert secret not in rows[name]
    assert password.encode() not in database.read_bytes()


def test_the_signing_secret_is_kept_readable_by_the_server_only(
    dagwire_server: ServerThread,
) -> None:
    secret = dagwire_server.config.data_dir / "session.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes()) >= 32
