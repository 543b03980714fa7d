"""Which studio login a front end signs in as, and opening the studio as that login without a dialog.

The rule is the sign-in's (ui/signin.py): on a shared database the login is the person who signed in last
on this computer (`LoginMemory`), unless the URL or X121_DATABASE_PASSWORD carries a password (then the
URL's user name is meant), else the URL's user name. A front end may name a login outright (`x121 --user`,
else X121_DATABASE_USER). The password comes from the URL or X121_DATABASE_PASSWORD, else the keyring the
sign-in keeps it in, else `ask` (a terminal prompt); a person who signed out last time is not signed in
with their kept password silently. With nobody to ask, a DatabaseError sentence says what to do.

The embedded single-user database keeps its default: its owner, no password (its socket trusts this
computer's account); a named login there connects as that role, as the window's *Sign out* switch does.
Nothing here changes who the window signs in as next (`LoginMemory` is only read).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from enum import Enum

from x121_desktop.core.errors import DatabaseError
from x121_desktop.db.embedded import SUPERUSER
from x121_desktop.db.engine import describe_url, parse_url
from x121_desktop.services.auth.credentials import CredentialStore, remember_password, stored_password
from x121_desktop.services.auth.login import (
    LoginMemory,
    database_url,
    has_explicit_password,
    login_url,
    open_embedded_as,
    url_user,
)
from x121_desktop.services.bootstrap import PASSWORD_ENV, LaunchOptions, PasswordPrompt, Studio, open_studio
from x121_desktop.settings.paths import resolve_home

USER_ENV = "X121_DATABASE_USER"


class LoginSource(Enum):
    """Why this login: said by `x121 whoami` and in the sentences below."""

    EMBEDDED_OWNER = "the embedded single-user database's owner"
    OPTION = "--user"
    ENVIRONMENT = USER_ENV
    URL_WITH_PASSWORD = "the database URL, which carries a password"
    LAST_SIGN_IN = "the last sign-in on this computer"
    URL = "the database URL"
    SERVER_DEFAULT = "the server's default (the URL names no user)"


@dataclass(frozen=True, slots=True)
class LoginPlan:
    """Who a front end signs in as, and where; no password is ever kept here."""

    database_url: str | None
    """The shared database chosen by flag, environment or settings (its own user name kept); None: embedded."""
    user: str | None
    """The login role; None only where the URL names none (libpq then uses this computer's account name)."""
    source: LoginSource
    signed_out: bool = False
    """That person signed out of the window last time: their kept password is not used without asking."""

    @property
    def explicit_password(self) -> bool:
        """The URL (for this user) or X121_DATABASE_PASSWORD carries the password: used as given."""
        if self.database_url is None:
            return False
        same_user = self.user == url_user(self.database_url)
        return os.environ.get(PASSWORD_ENV) is not None or (same_user and has_explicit_password(self.database_url))

    @property
    def connect_url(self) -> str | None:
        """The database URL signing in as `user` (its password only when it is this user's)."""
        url = self.database_url
        if url is None or self.user is None or self.user == url_user(url):
            return url
        return login_url(url, self.user)

    def describe(self) -> str:
        """`critic (the last sign-in on this computer)`."""
        return f"{self.user or 'the server default login'} ({self.source.value})"

    def notice(self) -> str | None:
        """A sentence when the login is not the URL's user name and nobody named it here; else None."""
        named = url_user(self.database_url) if self.database_url is not None else None
        if self.source is not LoginSource.LAST_SIGN_IN or not named or named == self.user:
            return None
        return (
            f"Signing in as {self.user}, {self.source.value} (the database URL names {named}); "
            f"choose another login with --user or {USER_ENV}"
        )


def plan_login(options: LaunchOptions, user: str | None = None) -> LoginPlan:
    """The login for `options`: `user` (a front end's --user), X121_DATABASE_USER, then the sign-in's rule."""
    url = database_url(options)
    named, source = (user, LoginSource.OPTION) if user else (os.environ.get(USER_ENV), LoginSource.ENVIRONMENT)
    if url is None:
        return LoginPlan(None, named, source) if named else LoginPlan(None, None, LoginSource.EMBEDDED_OWNER)
    if named:
        return LoginPlan(url, named, source)
    if has_explicit_password(url):
        return LoginPlan(url, url_user(url), LoginSource.URL_WITH_PASSWORD)
    last = LoginMemory(resolve_home(options.home).home).last(url)
    if last is not None:
        return LoginPlan(url, last.user, LoginSource.LAST_SIGN_IN, signed_out=last.signed_out)
    from_url = url_user(url)
    return LoginPlan(url, from_url, LoginSource.URL if from_url else LoginSource.SERVER_DEFAULT)


def open_planned(
    options: LaunchOptions, plan: LoginPlan, *, ask: PasswordPrompt | None, require_schema: bool = True
) -> Studio:
    """Open the studio as `plan.user`; `ask(where)` asks for a password (None, or returning None: nobody to ask).

    A password typed to `ask` is kept in the keyring when one may keep it (the studio's notices say so).
    """
    if plan.database_url is None:
        if plan.user is None or plan.user == SUPERUSER:
            return open_studio(replace(options, database_url=None), require_schema=require_schema)
        return open_embedded_as(options, plan.user)
    target = replace(options, database_url=plan.connect_url)
    if plan.user is None or plan.explicit_password:  # as given: the URL or the environment decides
        return open_studio(
            target,
            prompt_password=ask,
            stored_password=stored_password,
            remember_password=remember_password,
            require_schema=require_schema,
        )
    store = CredentialStore()
    kept = None if plan.signed_out else store.get(plan.database_url, plan.user)
    if kept is not None:
        try:
            return open_studio(target, stored_password=lambda _url, _role: kept, require_schema=require_schema)
        except DatabaseError as exc:
            if ask is None or "password" not in exc.problem:
                raise
            # the kept password was refused (changed on another computer): ask, as the sign-in dialog does
    try:
        return open_studio(
            target, prompt_password=ask, remember_password=remember_password, require_schema=require_schema
        )
    except DatabaseError as exc:
        if ask is not None or "password" not in exc.problem:
            raise
        raise nobody_to_ask(plan, plan.user, store) from exc


def nobody_to_ask(plan: LoginPlan, user: str, store: CredentialStore) -> DatabaseError:
    """The sentence for a login with no usable password and no terminal to ask on."""
    where = describe_url(parse_url(plan.connect_url or ""))
    full_url = f"a full URL (postgresql://{user}:PASSWORD@HOST/DB) or {PASSWORD_ENV}"
    if plan.signed_out:
        return DatabaseError(
            f"{user} ({plan.source.value}) signed out of X121 Studio, so the password kept for {where} is not "
            "used and there is no terminal to ask for it",
            f"Sign in again in the app, name the login with --user {user} (or {USER_ENV}), or give {full_url}",
        )
    if store.status().allowed:
        fix = (
            f"Sign in once in X121 Studio as {user} keeping the password in the keyring, run the command in a "
            f"terminal to be asked, or give {full_url}"
        )
    else:
        fix = (
            f"Run the command in a terminal to be asked, or give {full_url} (this computer's keyring cannot keep "
            "passwords; `x121 user keyring` says why)"
        )
    return DatabaseError(
        f"No password for {where} ({plan.source.value}) is kept on this computer and there is no terminal to "
        "ask for it",
        fix,
    )
