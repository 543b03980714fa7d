"""`x121 user …`: studio users (PostgreSQL login roles) and this machine's stored passwords.

    x121 user add NAME --role reviewer|creator|admin [--display-name TEXT]
                  [--password-stdin | --generate-password] [--json]      admins only
    x121 user list [--json]                                              everyone
    x121 user whoami [--json]     (also `x121 whoami`) the login and role commands use, and why
    x121 user set-role NAME --role ROLE                                  admins only
    x121 user disable NAME | enable NAME                                 admins only
    x121 user passwd [NAME] [--password-stdin]     your own password, or (admins) someone else's
    x121 user keyring                              can passwords be kept on this machine?
    x121 user forget                               remove the stored password for this database and login

Every command signs in as `x121 whoami` says (cli/common.py): --user, X121_DATABASE_USER, else the last
sign-in on this computer, else the URL's user name.

PostgreSQL decides who may do what (migration 0002); these commands only ask through
`services.users`. Passwords are read from a terminal (twice) or one line of standard input,
and leave this machine only as SCRAM verifiers.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from typing import Any

from x121_desktop.cli.common import login_plan, read_password_stdin, studio_from_args
from x121_desktop.cli.output import print_json, print_table, to_jsonable
from x121_desktop.core.enums import UserRole
from x121_desktop.core.errors import InvalidInput
from x121_desktop.services.users import UserAdminService, UserView, parse_role

ROLE_CODES = tuple(r.code for r in UserRole)
GENERATED_PASSWORD_BYTES = 15


def register(sub: Any) -> None:
    user = sub.add_parser("user", help="studio users (database login roles) and stored passwords")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    add = usub.add_parser("add", help="create a studio user: a login role in its group (admins only)")
    add.add_argument("name", metavar="NAME", help="login name: lower-case letters, digits, underscores")
    add.add_argument("--role", required=True, choices=ROLE_CODES, help="reviewer, creator or admin")
    add.add_argument("--display-name", metavar="TEXT", help="name shown in the studio (default: NAME)")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    how.add_argument("--generate-password", action="store_true", help="make a random password and print it once")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=_add)

    ls = usub.add_parser("list", help="every studio user with role and state")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_list)

    for parent in (usub, sub):  # `x121 user whoami` and `x121 whoami`
        who = parent.add_parser("whoami", help="the studio login and role commands sign in as, and why")
        who.add_argument("--json", action="store_true", help="print JSON")
        who.set_defaults(handler=_whoami)

    role = usub.add_parser("set-role", help="change a user's role (admins only)")
    role.add_argument("name", metavar="NAME")
    role.add_argument("--role", required=True, choices=ROLE_CODES)
    role.set_defaults(handler=_set_role)

    for action, active in (("disable", False), ("enable", True)):
        p = usub.add_parser(action, help=f"{action} a user's login (admins only)")
        p.add_argument("name", metavar="NAME")
        p.set_defaults(handler=_set_active, active=active)

    pw = usub.add_parser("passwd", help="change your password, or (admins) set another user's")
    pw.add_argument("name", metavar="NAME", nargs="?", help="another user (admins only); default: yourself")
    pw.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    pw.set_defaults(handler=_passwd)

    kr = usub.add_parser("keyring", help="whether this machine can keep database passwords, and where")
    kr.set_defaults(handler=_keyring)

    fg = usub.add_parser("forget", help="remove the stored password for this database and login")
    fg.set_defaults(handler=_forget)


# ----------------------------------------------------------------------------- helpers
def _new_password(args: argparse.Namespace, whose: str) -> str:
    """From stdin, or asked twice on a terminal; never echoed."""
    if getattr(args, "password_stdin", False):
        password = read_password_stdin()
        if not password:
            raise InvalidInput("Standard input held no password", "Pipe the password as one line")
        return password
    if not sys.stdin.isatty():
        raise InvalidInput(
            f"A password is needed for {whose} and there is no terminal to ask",
            "Pass it on standard input with --password-stdin"
            + (", or use --generate-password" if hasattr(args, "generate_password") else ""),
        )
    first = getpass.getpass(f"New password for {whose}: ")
    if getpass.getpass("Repeat it: ") != first:
        raise InvalidInput("The two passwords differ", "Run the command again and type the same password twice")
    return first


def _state(view: UserView) -> str:
    if not view.active:
        return "disabled"
    if not view.can_login:
        return "cannot sign in"
    return "active"


def _describe(view: UserView) -> str:
    extra = ", database superuser" if view.superuser else ""
    return f"{view.name} ({view.display_name}; {view.role.code}, {_state(view)}{extra})"


def _shared_login(args: argparse.Namespace) -> tuple[str, str] | None:
    """(shared database URL, the login commands sign in as); None for the embedded database or no user name."""
    plan = login_plan(args)
    if plan.database_url is None or plan.user is None:
        return None
    return plan.database_url, plan.user


# ----------------------------------------------------------------------------- handlers
def _add(args: argparse.Namespace) -> int:
    role = parse_role(args.role)
    generated = args.generate_password
    password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES) if generated else _new_password(args, args.name)
    with studio_from_args(args) as studio:
        view = asyncio.run(
            UserAdminService(studio.engine, studio.runtime).add_user(args.name, role, password, args.display_name)
        )
    if args.json:
        print_json({"user": view, **({"password": password} if generated else {})})
        return 0
    print(f"Created {view.role.code} {_describe(view)}.")
    if generated:
        print(f"Initial password (shown once; hand it over privately): {password}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        users = asyncio.run(UserAdminService(studio.engine, studio.runtime).list_users())
    if args.json:
        print_json(list(users))
        return 0
    rows = [(u.name, u.display_name, u.role.code, _state(u) + (" (superuser)" if u.superuser else "")) for u in users]
    print_table(rows, ("NAME", "DISPLAY NAME", "ROLE", "STATE"))
    return 0


def _whoami(args: argparse.Namespace) -> int:
    plan = login_plan(args)
    with studio_from_args(args, plan=plan) as studio:
        me = asyncio.run(UserAdminService(studio.engine, studio.runtime).whoami())
        where = studio.database.description
    if args.json:  # the studio user's fields (none when the login is not one), and why this login
        print_json({**(to_jsonable(me) if me is not None else {}), "chosen_by": plan.source.value, "database": where})
    elif me is None:
        print(f"{plan.describe()} is not a studio user ({where}).")
    else:
        print(f"{_describe(me)} on {where}, chosen by {plan.source.value}.")
    return 0 if me is not None else 1


def _set_role(args: argparse.Namespace) -> int:
    role = parse_role(args.role)
    with studio_from_args(args) as studio:
        view = asyncio.run(UserAdminService(studio.engine, studio.runtime).set_role(args.name, role))
    print(f"{_describe(view)}.")
    return 0


def _set_active(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        view = asyncio.run(UserAdminService(studio.engine, studio.runtime).set_active(args.name, args.active))
    print(f"{'Enabled' if args.active else 'Disabled'} {_describe(view)}.")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from x121_desktop.services.auth.credentials import CredentialStore

    with studio_from_args(args) as studio:
        service = UserAdminService(studio.engine, studio.runtime)
        if args.name:
            password = _new_password(args, args.name)
            asyncio.run(service.reset_password(args.name, password))
            print(f"Password of {args.name} set.")
            return 0
        password = _new_password(args, "your login")
        role = asyncio.run(service.change_own_password(password))
    print(f"Password of {role} changed.")
    shared = _shared_login(args)
    if shared is not None:
        print(CredentialStore().put(shared[0], role, password).message + ".")
    return 0


def _keyring(args: argparse.Namespace) -> int:
    from x121_desktop.services.auth.credentials import CredentialStore

    status = CredentialStore().status()
    print(f"{status.message}.")
    return 0 if status.allowed else 1


def _forget(args: argparse.Namespace) -> int:
    from x121_desktop.services.auth.credentials import CredentialStore

    shared = _shared_login(args)
    if shared is None:
        raise InvalidInput(
            "No shared database with a login is configured, so there is no stored password to forget",
            "Name it with --database-url postgresql://HOST/DB and the login with --user NAME",
        )
    if CredentialStore().forget(*shared):
        print(f"Forgot the stored password of {shared[1]} for this database.")
        return 0
    print(f"No password of {shared[1]} was stored for this database.")
    return 1
