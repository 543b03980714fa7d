"""`x121 db upgrade|status|serve`: the studio database's schema and LAN hosting."""

from __future__ import annotations

import argparse
from typing import Any

from x121_desktop.cli.common import launch_options, studio_from_args
from x121_desktop.cli.output import print_json


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="the studio database: schema upgrade, status, LAN hosting")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    up = dbsub.add_parser("upgrade", help="bring the database schema to this build's revision")
    up.set_defaults(handler=_upgrade)

    st = dbsub.add_parser("status", help="where the database is, its server version and schema revision")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=_status)

    sv = dbsub.add_parser(
        "serve",
        help="host the studio database for the LAN from this machine (bundled PostgreSQL, SCRAM passwords)",
    )
    sv.add_argument("--listen", default="0.0.0.0", help="address(es) to listen on (default: all)")
    sv.add_argument("--port", type=int, default=5432, help="TCP port (default: 5432)")
    sv.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="client network allowed to connect, e.g. 192.168.1.0/24 (repeatable; default: loopback only)",
    )
    sv.add_argument("--admin", metavar="NAME", help="create this admin login first if it does not exist")
    sv.add_argument("--password-stdin", action="store_true", help="read the new admin's password from stdin")
    sv.add_argument("--detach", action="store_true", help="leave the server running and return")
    sv.set_defaults(handler=_serve)

    sp = dbsub.add_parser("stop", help="stop a database server this machine left running (`serve --detach`)")
    sp.set_defaults(handler=_stop)


def _upgrade(args: argparse.Namespace) -> int:
    from x121_desktop.db.migrate import upgrade

    with studio_from_args(args, require_schema=False) as studio:
        before = studio.database.schema.current
        after = upgrade(studio.engine)
    if before == after.current:
        print(f"Schema already at {after.current} ({studio.database.description}).")
    else:
        print(f"Schema upgraded {before or 'empty'} → {after.current} ({studio.database.description}).")
    return 0


def _status(args: argparse.Namespace) -> int:
    with studio_from_args(args, require_schema=False) as studio:
        info = studio.database
    if args.json:
        print_json(
            {
                "database": info.description,
                "embedded": info.embedded,
                "server_version": info.server_version,
                "schema_revision": info.schema.current,
                "schema_head": info.schema.head,
                "up_to_date": info.schema.up_to_date,
                "recovered_from_crash": info.recovered_from_crash,
            }
        )
    else:
        state = "up to date" if info.schema.up_to_date else f"needs `x121 db upgrade` to {info.schema.head}"
        print(f"Database:  {info.description}")
        print(f"Server:    PostgreSQL {info.server_version}")
        print(f"Schema:    {info.schema.current or 'none'} ({state})")
        if info.recovered_from_crash:
            print("Note:      recovered an embedded server left behind by a crashed process")
    return 0 if info.schema.up_to_date else 1


def _serve(args: argparse.Namespace) -> int:
    from x121_desktop.services.hosting import LanServeRequest, serve_lan

    request = LanServeRequest(
        listen=args.listen,
        port=args.port,
        allow=tuple(args.allow),
        admin=args.admin,
        admin_password_from_stdin=args.password_stdin,
        detach=args.detach,
    )
    return serve_lan(launch_options(args), request, say=print)


def _stop(args: argparse.Namespace) -> int:
    from x121_desktop.services.hosting import stop_served

    if stop_served(launch_options(args)):
        print("Database server stopped.")
        return 0
    print("No database server is running for this X121 home.")
    return 1
