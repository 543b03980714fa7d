"""`x121` with no subcommand opens the studio window; with one it runs the CLI."""

import sys


def main(argv: list[str] | None = None) -> int:
    from x121_desktop.cli.main import build_parser, run

    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        from x121_desktop.ui.app import main as ui_main

        return ui_main(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
