"""Command line: ``python -m ipt_training COMMAND`` (every command has ``--help``).

Exit codes: 0 success, 1 content invalid / operation refused, 2 bad input (file, columns, arguments).
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from pathlib import Path

from . import auth
from .config import get_settings
from .content import FOLDERS, load_library
from .store import backup, open_store, schema_version

COMMANDS = ("init", "create-user", "demo", "validate", "backup", "reliability", "gstudy", "readiness", "credential",
            "verify", "notify-expiring")


def _db(args):
    return open_store(args.db or get_settings().db_path)


def cmd_init(args) -> int:
    from .credentials import issuer, verifiable

    db = _db(args)
    print(f"Database ready at {args.db or get_settings().db_path} (schema version {schema_version(db)}).")
    body = issuer.issuer_for(db)
    kid = issuer.ensure_key(body)
    verifiable.publish_status_list(db)
    print(f"Issuer key {kid} ready in {body.folder / 'keys'} (owner-only); revocation list in {body.folder / 'status'}.")
    return 0


def cmd_create_user(args) -> int:
    db = _db(args)
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("The two passwords differ; run the command again.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        user = auth.create_user(db, args.name, password, args.role, args.display_name or args.name, args.email)
    except auth.AuthError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Created {user.username} with roles {', '.join(user.roles)}.")
    return 0


def cmd_demo(args) -> int:
    from . import demo

    db = _db(args)
    try:
        demo.load_demo(db, load_library(get_settings().content_dir), force=args.force)
    except demo.DemoError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("Demo data loaded. Sign in with:")
    for acc in demo.DEMO_ACCOUNTS:
        print(f"  {acc.role:<10} {acc.username:<12} {acc.password}")
    return 0


def cmd_validate(args) -> int:
    root = Path(args.content_dir) if args.content_dir else get_settings().content_dir
    missing = [f for f in FOLDERS if not (root / f).is_dir()]
    for folder in missing:
        print(f"{root / folder}: (folder): not found; check --content-dir or IPT_TRAINING_CONTENT_DIR")
    if missing:
        return 1
    lib = load_library(root)
    for err in lib.errors:
        print(err)
    if lib.errors:
        return 1
    print(f"All content is valid: {len(lib.vignettes)} vignettes, {len(lib.rubrics)} vignette rubrics, "
          f"{len(lib.scales)} rating scales, {len(lib.instruments)} instruments, {len(lib.standards)} standards, "
          f"{len(lib.policies)} certification policies.")
    return 0


def cmd_backup(args) -> int:
    source = Path(args.db or get_settings().db_path).resolve()
    target = Path(args.path).resolve()
    if target == source or target.is_dir():
        print(f"Cannot back up to {args.path}: give a new file name, not the live database or a folder.",
              file=sys.stderr)
        return 2
    db = _db(args)
    backup(db, target)
    print(f"Backup written to {args.path}.")
    return 0


def cmd_reliability(args, rest) -> int:
    from .reliability import cli_reliability

    return cli_reliability(rest)


def cmd_gstudy(args, rest) -> int:
    from .reliability.command import cli_gstudy

    return cli_gstudy(rest)


def cmd_readiness(args, rest) -> int:
    from .credentials.command import cli_readiness

    # the global --db (before the command) applies here too
    return cli_readiness(rest + (["--db", args.db] if args.db else []))


def cmd_credential(args, rest) -> int:
    from .credentials.command import cli_credential

    return cli_credential((["--db", args.db] if args.db else []) + rest)


def cmd_verify(args, rest) -> int:
    from .credentials.command import cli_verify

    return cli_verify(rest + (["--db", args.db] if args.db else []))


def cmd_notify_expiring(args) -> int:
    import datetime as _dt

    from .credentials.reminders import notify_expiring

    db = _db(args)
    library = load_library(get_settings().content_dir)
    made = notify_expiring(db, library, _dt.date.today(), within_days=args.within_days)
    print(f"{made} reminder(s) of expiring credentials written to their holders' inboxes.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ipt_training", description="IPT training and fidelity platform.")
    parser.add_argument("--db", help="SQLite file (default: $IPT_TRAINING_DB or <data dir>/ipt_training.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("init", help="create or migrate the database", description="Create the database and apply every migration.")
    p = sub.add_parser("create-user", help="create an account (password asked for, or read from stdin)",
                       description="Create an account. The password is asked for, or read from the first line of stdin.")
    p.add_argument("name", help="sign-in name")
    p.add_argument("--role", action="append", required=True, choices=auth.ROLES, help="a role; repeat for several")
    p.add_argument("--display-name", help="full name shown in the app")
    p.add_argument("--email", help="e-mail, for institutional sign-in")
    p = sub.add_parser("demo", help="load demo data", description="Load the demo accounts and records. Refuses a database with real accounts unless --force.")
    p.add_argument("--force", action="store_true", help="load even though real accounts exist")
    p = sub.add_parser("validate", help="validate all content (exit 1 on errors)",
                       description="Validate vignettes/, rubrics/ and training/. Prints one line per error: path:line: field: message.")
    p.add_argument("--content-dir", help="folder holding vignettes/, rubrics/, training/ (default: the project)")
    p = sub.add_parser("backup", help="online backup of the database", description="Copy the database with SQLite's online backup API; safe while the app runs.")
    p.add_argument("path", help="file to write the backup to")
    p = sub.add_parser("notify-expiring", help="remind holders of expiring credentials in their inbox",
                       description="Write an inbox reminder (and an e-mail, when e-mail is on) to each holder of a "
                                   "credential that expires within --within-days or has expired. Each award is "
                                   "reminded once when due and once when expired, however often this runs (cron).")
    p.add_argument("--within-days", type=int, default=90, help="how far ahead to look (default 90)")
    sub.add_parser("reliability", help="inter-rater reliability of a CSV (see 'reliability --help')", add_help=False)
    sub.add_parser("gstudy", help="G and D study of fidelity scores in a CSV (see 'gstudy --help')", add_help=False)
    sub.add_parser("readiness", help="credential readiness of trainees (see 'readiness --help')", add_help=False)
    sub.add_parser("credential", help="signed credentials of awards: list, export, revoke (see 'credential --help')",
                   add_help=False)
    sub.add_parser("verify", help="verify a credential file (see 'verify --help')", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # reliability, gstudy, readiness, credential and verify own their argument parsing; pass the rest through
    passthrough = {"reliability": cmd_reliability, "gstudy": cmd_gstudy, "readiness": cmd_readiness,
                   "credential": cmd_credential, "verify": cmd_verify}
    found = [i for i, a in enumerate(argv) if a in passthrough]
    if found:  # the first command word (a later one is an argument, say a revocation reason)
        i = found[0]
        args = parser.parse_args(argv[: i + 1])
        return passthrough[argv[i]](args, argv[i + 1 :])
    args = parser.parse_args(argv)
    handler = {"init": cmd_init, "create-user": cmd_create_user, "demo": cmd_demo, "validate": cmd_validate,
               "backup": cmd_backup, "notify-expiring": cmd_notify_expiring}[args.command]
    try:
        return handler(args)
    except sqlite3.Error as exc:  # e.g. --db names a folder or a file that is not a database
        print(f"The database could not be used ({exc}); check --db / IPT_TRAINING_DB points to an SQLite file "
              "this user can write.", file=sys.stderr)
        return 2
