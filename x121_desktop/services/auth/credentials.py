"""Database passwords in the OS keyring, and what happens when there is no keyring.

Service name `x121-studio`; the key is `<host[:port]/database>|<role>`, so one workstation
can hold passwords for several studio databases and roles.

The password is only ever stored by a keyring that protects it (Secret Service, macOS
Keychain, Windows Credential Locker, …). When no such backend works — headless Linux has
no Secret Service, and keyring falls back to `fail.Keyring`, whose every call raises
`NoKeyringError` — nothing is stored: the outcome says so in one sentence and the password
is asked for each time. A plaintext backend (`keyrings.alt.file.PlaintextKeyring`, which
keyring picks on its own when keyrings.alt is installed) is used only when the user opts
in: by naming it in `PYTHON_KEYRING_BACKEND` (keyring's own setting) or by constructing
the store with `allow_plaintext=True`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import Enum

import keyring
import keyring.backend
import keyring.errors
from keyring.backends.chainer import ChainerBackend
from keyring.backends.fail import Keyring as FailKeyring
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

SERVICE_NAME = "x121-studio"
BACKEND_ENV = "PYTHON_KEYRING_BACKEND"
DEFAULT_PORT = 5432

_UNUSABLE_BACKENDS = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})
_PLAINTEXT_BACKENDS = frozenset({"keyrings.alt.file.PlaintextKeyring"})


def database_key(url: str) -> str:
    """`host[:port]/database` for a database URL (port shown only when not 5432); the user is left out."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    host = (parsed.host or str(parsed.query.get("host", "local"))).lower()
    port = parsed.port or parsed.query.get("port")
    where = f"{host}:{port}" if port and str(port) != str(DEFAULT_PORT) else host
    return f"{where}/{parsed.database}"


def credential_key(url: str, role: str) -> str:
    """`host[:port]/database|role` for a database URL (port shown only when not 5432)."""
    return f"{database_key(url)}|{role}"


class KeyringState(Enum):
    SECURE = "secure"
    PLAINTEXT = "plaintext"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class KeyringStatus:
    state: KeyringState
    backend: str
    allowed: bool
    """Whether this store will keep passwords in this backend."""
    message: str


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    stored: bool
    message: str


def _backend_id(backend: keyring.backend.KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _effective_backend(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    """The backend a chainer writes to first (its highest-priority one), else the backend itself."""
    if isinstance(backend, ChainerBackend):
        inner: list[keyring.backend.KeyringBackend] = list(backend.backends)
        return inner[0] if inner else FailKeyring()  # type: ignore[no-untyped-call]  # untyped in keyring
    return backend


class CredentialStore:
    """Keeps database passwords in the OS keyring, never in plaintext unless the user opts in."""

    def __init__(
        self, backend: keyring.backend.KeyringBackend | None = None, *, allow_plaintext: bool | None = None
    ) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        if allow_plaintext is None:
            # Naming a backend in keyring's own environment setting is a deliberate choice.
            allow_plaintext = _backend_id(_effective_backend(self._backend)) == os.environ.get(BACKEND_ENV)
        self._allow_plaintext = allow_plaintext

    def status(self) -> KeyringStatus:
        backend = _effective_backend(self._backend)
        name = _backend_id(backend)
        if name in _UNUSABLE_BACKENDS:
            return KeyringStatus(
                KeyringState.UNAVAILABLE,
                name,
                False,
                "No keyring is available on this machine (headless Linux has no Secret Service), so X121 will "
                "not store the password and will ask for it each time; start a keyring service such as "
                "gnome-keyring to have it remembered",
            )
        if name in _PLAINTEXT_BACKENDS:
            if self._allow_plaintext:
                return KeyringStatus(
                    KeyringState.PLAINTEXT,
                    name,
                    True,
                    f"Passwords are kept UNENCRYPTED by {name} because you chose it; anyone who can read "
                    "your files can read them",
                )
            return KeyringStatus(
                KeyringState.PLAINTEXT,
                name,
                False,
                f"The only keyring here ({name}) would keep the password unencrypted, so X121 will not store "
                f"it and will ask each time; set {BACKEND_ENV}={name} to accept plaintext storage",
            )
        return KeyringStatus(KeyringState.SECURE, name, True, f"Passwords are kept in the OS keyring ({name})")

    def get(self, url: str, role: str) -> str | None:
        """The stored password, or None (nothing stored, or no usable keyring)."""
        if not self.status().allowed:
            return None
        try:
            value: str | None = self._backend.get_password(SERVICE_NAME, credential_key(url, role))
        except keyring.errors.KeyringError as exc:
            log.warning("keyring lookup failed: %s", type(exc).__name__)
            return None
        return value

    def put(self, url: str, role: str, password: str) -> StoreOutcome:
        """Store the password if a keyring allows it; the outcome's message says what happened."""
        status = self.status()
        if not status.allowed:
            return StoreOutcome(False, status.message)
        try:
            self._backend.set_password(SERVICE_NAME, credential_key(url, role), password)
        except keyring.errors.KeyringError as exc:
            return StoreOutcome(
                False,
                f"The keyring refused to store the password ({type(exc).__name__}), so X121 will ask for it "
                "each time; unlock or repair the keyring to have it remembered",
            )
        return StoreOutcome(True, f"Password for {role} saved in the keyring ({status.backend})")

    def forget(self, url: str, role: str) -> bool:
        """Remove a stored password; False when there was none (or no usable keyring)."""
        if not self.status().allowed:
            return False
        try:
            self._backend.delete_password(SERVICE_NAME, credential_key(url, role))
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            log.warning("keyring delete failed: %s", type(exc).__name__)
            return False
        return True


def stored_password(url: str, role: str) -> str | None:
    """Look-up hook for `services.bootstrap.open_studio(stored_password=…)`."""
    return CredentialStore().get(url, role)


def remember_password(url: str, role: str, password: str) -> str:
    """Keep-hook for `services.bootstrap.open_studio(remember_password=…)`: the outcome's sentence."""
    return CredentialStore().put(url, role, password).message
