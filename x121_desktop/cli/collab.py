"""`x121 open URL`, `x121 desktop install`, `x121 lock …`, `x121 comment`, `x121 activity`.

`x121 open` hands an x121:// link to the studio window already running for this user and home
(through its local socket, see core/collab/handoff.py) and exits; when none runs it starts one
that opens the link. `x121 desktop install` registers the x121:// scheme on Linux: a .desktop
file in ~/.local/share/applications (XDG_DATA_HOME) and, when present, `xdg-mime default`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from x121_desktop.core.bundled import DataTree, data_path
from x121_desktop.core.collab import handoff
from x121_desktop.core.collab.deeplink import job_link_id, parse_link
from x121_desktop.core.collab.feed import describe
from x121_desktop.core.collab.values import LockKind
from x121_desktop.core.enums import ActivityKind
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.services.handoff import forward
from x121_desktop.settings.paths import resolve_home

DESKTOP_FILE = "x121-studio.desktop"
SCHEME_MIME = "x-scheme-handler/x121"


def register(sub: Any) -> None:
    op = sub.add_parser("open", help="open an x121:// link in the running studio (or start one)")
    op.add_argument("url", nargs="?", metavar="URL", help="x121://project/<p>/scene/<s>/segment/<n>/take/<t>@frame")
    op.add_argument("--no-start", action="store_true", help="fail instead of starting a studio window")
    op.set_defaults(handler=_open)

    desk = sub.add_parser("desktop", help="desktop integration")
    dsub = desk.add_subparsers(dest="desktop_command", metavar="ACTION", required=True)
    inst = dsub.add_parser("install", help="register the x121:// scheme (Linux .desktop file + xdg-mime)")
    inst.add_argument("--exec", dest="exec_line", metavar="CMD", help="command to run (default: this x121)")
    inst.set_defaults(handler=_desktop_install)

    lock = sub.add_parser("lock", help="segment locks")
    lsub = lock.add_subparsers(dest="lock_command", metavar="ACTION", required=True)
    ls = lsub.add_parser("list", help="locks and who holds them")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=_lock_list)
    brk = lsub.add_parser("break", help="remove someone's lock, visibly (admins only)")
    brk.add_argument("segment", type=int, metavar="SEGMENT_ID")
    brk.add_argument("--reason", required=True)
    brk.set_defaults(handler=_lock_break)

    com = sub.add_parser("comment", help="comment on a take (at a frame); @name mentions notify that user")
    com.add_argument("--take", type=int, required=True, metavar="TAKE_ID")
    com.add_argument("--frame", type=int, metavar="FRAME")
    com.add_argument("text", metavar="TEXT")
    com.set_defaults(handler=_comment)

    act = sub.add_parser("activity", help="the studio feed, newest first")
    act.add_argument("--project", type=int)
    act.add_argument("--kind", choices=[k.code for k in ActivityKind], action="append", default=[])
    act.add_argument("--limit", type=int, default=30)
    act.set_defaults(handler=_activity)


def handoff_socket(home: Path) -> Path:
    return handoff.runtime_socket(home)


def _open(args: argparse.Namespace) -> int:
    url = args.url or ""
    if url and job_link_id(url) is None:
        parse_link(url)  # a malformed link is refused here, with its sentence
    home = resolve_home(args.home).home
    path = handoff_socket(home)
    try:
        refusal = forward(path, url)
    except OSError:
        if args.no_start:
            raise X121Error("No X121 Studio window is running for this user", "Start one with `x121`") from None
        env = {**os.environ, handoff.LINK_ENV: url} if url else dict(os.environ)
        extra: list[str] = []
        for flag, value in (("--home", args.home), ("--database-url", args.database_url)):
            if value:
                extra += [flag, value]
        cmd = [sys.executable, "-m", "x121_desktop", *extra]
        subprocess.Popen(cmd, env=env, start_new_session=True)
        print("x121: starting X121 Studio" + (f" at {url}" if url else ""))
        return 0
    if refusal is not None:
        raise InvalidInput(f"The studio could not open {url}: {refusal}", "Check the link")
    print(f"x121: opened {url} in the running studio" if url else "x121: the studio is running")
    return 0


def _desktop_install(args: argparse.Namespace) -> int:
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    apps = data / "applications"
    apps.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("x121")
    exec_line = args.exec_line or (
        f"{shlex.quote(exe)} open" if exe else f"{shlex.quote(sys.executable)} -m x121_desktop open"
    )
    target = apps / DESKTOP_FILE
    tmp = target.with_suffix(".tmp")
    template = data_path(DataTree.RESOURCES) / DESKTOP_FILE
    tmp.write_text(template.read_text(encoding="utf-8").replace("@EXEC@", exec_line), encoding="utf-8")
    tmp.replace(target)
    print(f"x121: wrote {target}")
    xdg_mime = shutil.which("xdg-mime")
    if xdg_mime is None:
        print("x121: xdg-mime is not installed, so x121:// links are registered only for desktops that read the file")
    else:
        subprocess.run([xdg_mime, "default", DESKTOP_FILE, SCHEME_MIME], check=False)
        print(f"x121: {SCHEME_MIME} now opens with {DESKTOP_FILE}")
    update = shutil.which("update-desktop-database")
    if update is not None:
        with contextlib.suppress(OSError):
            subprocess.run([update, str(apps)], check=False, capture_output=True)
    return 0


def _collab(args: argparse.Namespace) -> Any:
    from x121_desktop.cli.common import studio_from_args

    return studio_from_args(args)


def _lock_list(args: argparse.Namespace) -> int:
    import asyncio

    from x121_desktop.services.collab import CollabServices

    with _collab(args) as studio:
        locks = asyncio.run(CollabServices.from_studio(studio).locks.locks(kind=LockKind.SEGMENT))
    rows = [
        {
            "segment": i.target_id,
            "holder": i.holder_name,
            "machine": i.machine,
            "live": i.live,
            "seconds_left": int(i.remaining.total_seconds()),
        }
        for i in locks
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            state = f"{r['seconds_left']} s left" if r["live"] else "expired"
            print(f"segment {r['segment']:>6}  {r['holder']:<20} {r['machine']:<20} {state}")
        if not rows:
            print("no locks")
    return 0


def _lock_break(args: argparse.Namespace) -> int:
    import asyncio

    from x121_desktop.services.collab import CollabServices

    with _collab(args) as studio:
        broke = asyncio.run(CollabServices.from_studio(studio).locks.break_lock(args.segment, args.reason))
    print(
        f"x121: broke the lock on segment {args.segment}" if broke else f"x121: segment {args.segment} was not locked"
    )
    return 0


def _comment(args: argparse.Namespace) -> int:
    import asyncio

    from x121_desktop.services.collab import CollabServices

    with _collab(args) as studio:
        posted = asyncio.run(
            CollabServices.from_studio(studio).activity.comment(args.text, take_id=args.take, frame=args.frame)
        )
    mentioned = ", ".join(f"@{n}" for n in posted.mentioned) or "nobody"
    print(f"x121: comment #{posted.comment_id} posted ({mentioned} notified) {posted.link or ''}".rstrip())
    return 0


def _activity(args: argparse.Namespace) -> int:
    import asyncio

    from x121_desktop.services.activity import FeedFilter
    from x121_desktop.services.collab import CollabServices

    where = FeedFilter(
        project_id=args.project, kinds=tuple(ActivityKind.from_code(k) for k in args.kind), limit=args.limit
    )
    with _collab(args) as studio:
        items = asyncio.run(CollabServices.from_studio(studio).activity.feed(where))
    for item in items:
        print(f"{item.at:%Y-%m-%d %H:%M:%S}  {describe(item)}")
    return 0
