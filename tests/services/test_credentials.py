"""Database passwords in the keyring: kept only where it is safe, with a clear sentence otherwise.

Real keyring backends, no mocks: an in-memory backend stands in for a secure OS keyring
(the KeyringBackend API is all the store uses), `fail.Keyring` is what headless Linux gets,
and keyrings.alt's PlaintextKeyring writes a real file in the test's folder.
"""

from __future__ import annotations

from pathlib import Path

import keyring.backend
import keyring.errors
import pytest
from keyring.backends.fail import Keyring as FailKeyring
from keyrings.alt.file import PlaintextKeyring

from x121_desktop.services.auth.credentials import (
    BACKEND_ENV,
    SERVICE_NAME,
    CredentialStore,
    KeyringState,
    credential_key,
)

URL = "postgresql+psycopg://alice@studio-db.lan:5432/x121"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A secure-keyring stand-in that keeps passwords in a dict."""

    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.items[(service, username)]


class LockedKeyring(MemoryKeyring):
    """A secure keyring that is locked: every write fails."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the collection is locked")


@pytest.mark.parametrize(
    ("url", "role", "key"),
    [
        (URL, "alice", "studio-db.lan/x121|alice"),
        ("postgresql://bob@Studio-DB.lan:6543/prod", "bob", "studio-db.lan:6543/prod|bob"),
        ("postgresql+psycopg://carl@/x121?host=/run/x121&port=5433", "carl", "/run/x121:5433/x121|carl"),
    ],
)
def test_key_is_host_database_and_role(url: str, role: str, key: str) -> None:
    assert credential_key(url, role) == key


def test_a_secure_keyring_keeps_and_forgets_the_password() -> None:
    backend = MemoryKeyring()
    store = CredentialStore(backend)
    assert store.status().state is KeyringState.SECURE
    outcome = store.put(URL, "alice", "pa55-word")
    assert outcome.stored
    assert "saved in the keyring" in outcome.message
    assert backend.items == {(SERVICE_NAME, "studio-db.lan/x121|alice"): "pa55-word"}
    assert store.get(URL, "alice") == "pa55-word"
    assert store.get(URL, "bob") is None
    assert store.forget(URL, "alice")
    assert not store.forget(URL, "alice")
    assert store.get(URL, "alice") is None


def test_headless_linux_without_a_keyring_stores_nothing_and_says_so() -> None:
    store = CredentialStore(FailKeyring())
    status = store.status()
    assert status.state is KeyringState.UNAVAILABLE
    assert not status.allowed
    outcome = store.put(URL, "alice", "pa55-word")
    assert not outcome.stored
    assert outcome.message.startswith("No keyring is available on this machine")
    assert "ask for it each time" in outcome.message
    assert store.get(URL, "alice") is None  # no NoKeyringError escapes
    assert not store.forget(URL, "alice")


def test_plaintext_keyring_is_refused_unless_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring_pass.cfg")
    store = CredentialStore(backend)
    outcome = store.put(URL, "alice", "pa55-word")
    assert not outcome.stored
    assert "unencrypted" in outcome.message
    assert f"{BACKEND_ENV}=keyrings.alt.file.PlaintextKeyring" in outcome.message
    assert not (tmp_path / "keyring_pass.cfg").exists()


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_plaintext_keyring_when_the_user_opts_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring_pass.cfg")
    if how == "environment":
        monkeypatch.setenv(BACKEND_ENV, "keyrings.alt.file.PlaintextKeyring")
        store = CredentialStore(backend)
    else:
        monkeypatch.delenv(BACKEND_ENV, raising=False)
        store = CredentialStore(backend, allow_plaintext=True)
    assert store.status().state is KeyringState.PLAINTEXT
    outcome = store.put(URL, "alice", "pa55-word")
    assert outcome.stored
    assert "UNENCRYPTED" in store.status().message
    assert (tmp_path / "keyring_pass.cfg").exists()
    assert store.get(URL, "alice") == "pa55-word"


def test_a_locked_keyring_fails_softly() -> None:
    outcome = CredentialStore(LockedKeyring()).put(URL, "alice", "pa55-word")
    assert not outcome.stored
    assert "refused to store the password (PasswordSetError)" in outcome.message
