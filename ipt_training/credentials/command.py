"""The ``readiness`` command: every candidate's readiness against a standard as a table, CSV or JSON.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Sequence
import pandas as pd
from ..reliability import calibration
from ..content import CredentialStandard
from .readiness import readiness_to_dict
from ..reports import dataframe_to_csv
from .review import ReviewError, cohort_id_by_name, cohort_readiness, cohort_table, standard_of


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ipt_training readiness",
        description="Credential readiness of every matching person: the same evaluation as the review page.")
    p.add_argument("--standard", metavar="ID", help="a credential standard id (default: every standard)")
    p.add_argument("--cohort", metavar="NAME", help="only members of this cohort")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default table)")
    p.add_argument("--db", metavar="PATH", help="SQLite file (default: $IPT_TRAINING_DB or <data dir>/ipt_training.db)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="evaluate as of this day (default today)")
    return p


def _text_table(headers: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in body])


def _format_table(std: CredentialStandard, rows_: list[dict]) -> str:
    out = [f"{std.id} (version {std.version}): {std.name}"]
    if not rows_:
        return out[0] + "\n  nobody matches\n"
    out.append(_text_table(["Person", "Username", "Cohort", "Status", "Met", "Progress", "Latest decision"],
                           [[r["trainee"], r["username"], r["cohort"], r["status"], f"{r['met']}/{r['total']}",
                             f"{round(r['progress'] * 100)} %", r["latest_decision"] or "-"] for r in rows_]))
    for r in rows_:
        out.append(f"\n{r['trainee']} ({r['username']}): {r['status']}"
                   + (f" (held: {r['holding']['text']}; requirements below are the renewal)" if r.get("holding") else ""))
        for q in r["readiness"].requirements:
            out.append(f"  [{'x' if q.met else ' '}] {q.requirement_id}: {q.current}")
            out.extend(f"        - {m}" for m in q.missing)
    return "\n".join(out) + "\n"


def _json_row(r: dict) -> dict:
    return {k: v for k, v in r.items() if k != "readiness"} | {"readiness": readiness_to_dict(r["readiness"])}


def cli_readiness(argv: Sequence[str] | None = None) -> int:
    """``python -m ipt_training readiness [--standard ID] [--cohort NAME] [--format table|csv|json] [--db PATH]``.

    Exit status: 0 on success; 2 for an unknown standard or cohort, a bad date, or bad arguments.
    """
    from ..config import get_settings
    from ..content import load_library
    from ..store import open_store

    try:
        args = _parser().parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help or a usage error; argparse already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        today = _dt.date.fromisoformat(args.date) if args.date else _dt.date.today()
    except ValueError:
        print(f"readiness: error: --date must be a day as YYYY-MM-DD, got {args.date!r}.", file=sys.stderr)
        return 2
    settings = get_settings()
    library = load_library(settings.content_dir)
    db = open_store(args.db or settings.db_path)
    try:
        standards = [standard_of(library, args.standard)] if args.standard else \
            [library.standards[k] for k in sorted(library.standards)]
        cohort_id = cohort_id_by_name(db, args.cohort) if args.cohort else None
    except ReviewError as exc:
        print(f"readiness: error: {exc}", file=sys.stderr)
        return 2
    if not standards:
        print("readiness: error: no credential standard is loaded; run 'python -m ipt_training validate'.",
              file=sys.stderr)
        return 2
    certified = calibration.certified_raters(db, library, today)
    results = [(s, cohort_readiness(db, library, s.id, cohort_id, today, certified=certified)) for s in standards]
    if args.format == "json":
        print(json.dumps([_json_row(r) for _, rs in results for r in rs], indent=2, default=str))
    elif args.format == "csv":
        frames = [cohort_table(rs) for _, rs in results if rs]
        sys.stdout.write(dataframe_to_csv(pd.concat(frames, ignore_index=True)).decode("utf-8") if frames else "")
    else:
        print("\n".join(_format_table(s, rs) for s, rs in results))
    return 0


# --- credential and verify (issue 14) ----------------------------------------------------------


def _vc_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ipt_training credential",
                                description="Signed Open Badges 3.0 credentials of awards: list, export, revoke.")
    p.add_argument("--db", metavar="PATH", help="SQLite file (default: $IPT_TRAINING_DB or <data dir>/ipt_training.db)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = sub.add_parser("list", help="awards with decision id, holder, standard, valid until, status")
    s.add_argument("--user", metavar="NAME", help="only this person's awards (sign-in name)")
    s = sub.add_parser("export", help="write the signed credential (compact VC-JWT) of an award")
    s.add_argument("decision_id", metavar="DECISION_ID")
    s.add_argument("--out", metavar="FILE", required=True, help="file to write")
    s = sub.add_parser("revoke", help="revoke an award's credential (append-only, with a reason)")
    s.add_argument("decision_id", metavar="DECISION_ID")
    s.add_argument("--reason", metavar="TEXT", required=True, help="why; kept with the revocation")
    s = sub.add_parser("status-list", help="write the signed revocation list (Bitstring Status List) to a file")
    s.add_argument("--out", metavar="FILE", required=True)
    sub.add_parser("rotate-key", help="create a new issuer key; older keys stay to verify what they signed")
    return p


def _parse(parser: argparse.ArgumentParser, argv):
    try:
        return parser.parse_args(list(argv) if argv is not None else None), None
    except SystemExit as exc:  # --help or a usage error; argparse already printed
        return None, exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)


def _write(path: str, text: str) -> None:
    from pathlib import Path

    Path(path).write_text(text, encoding="utf-8")


def cli_credential(argv: Sequence[str] | None = None) -> int:
    """``python -m ipt_training credential list|export|revoke|status-list|rotate-key``.

    Exit status: 0 done; 1 refused (not an award, already revoked, no reason); 2 bad arguments or
    a file that cannot be written.
    """
    from ..auth import find_user
    from ..config import get_settings
    from ..store import open_store
    from . import issuer as issuer_mod, verifiable

    args, code = _parse(_vc_parser(), argv)
    if args is None:
        return code
    db = open_store(args.db or get_settings().db_path)
    try:
        if args.action == "list":
            user = find_user(db, args.user) if args.user else None
            if args.user and user is None:
                print(f"credential: error: there is no user '{args.user}'.", file=sys.stderr)
                return 2
            found = verifiable.award_rows(db, user.id if user else None)
            print(_text_table(["Decision", "Holder", "Standard", "Valid until", "Status"],
                              [[str(r["decision_id"]), r["holder"], r["standard_id"], r["valid_until"] or "-",
                                r["status"]] for r in found]) if found else "No award recorded yet.")
        elif args.action == "export":
            token = verifiable.credential_for(db, args.decision_id)["token"]
            _write(args.out, token + "\n")
            print(f"Credential of award {args.decision_id} written to {args.out}.")
        elif args.action == "revoke":
            verifiable.revoke(db, args.decision_id, args.reason)
            print(f"Credential of award {args.decision_id} revoked; the status list is published again.")
        elif args.action == "status-list":
            _write(args.out, verifiable.publish_status_list(db) + "\n")
            print(f"Revocation list written to {args.out}.")
        else:
            kid = issuer_mod.create_key(issuer_mod.issuer_for(db))
            verifiable.publish_status_list(db)
            print(f"New issuer key {kid} signs from now on; older keys are kept to verify what they signed.")
    except (verifiable.CredentialError, issuer_mod.IssuerError) as exc:
        print(f"credential: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"credential: error: cannot write {getattr(args, 'out', '')}: {exc.strerror}.", file=sys.stderr)
        return 2
    return 0


def cli_verify(argv: Sequence[str] | None = None) -> int:
    """``python -m ipt_training verify FILE``: 0 and 'valid: NAME, STANDARD, valid until DATE';
    1 with the reason for a tampered, expired, revoked or foreign credential; 2 for a file that
    is not a credential."""
    from pathlib import Path

    from ..config import get_settings
    from ..store import open_store
    from . import verifiable

    p = argparse.ArgumentParser(prog="python -m ipt_training verify",
                                description="Verify a signed credential file (VC-JWT) against this body's keys "
                                            "and revocation list.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--db", metavar="PATH", help="SQLite file (default: $IPT_TRAINING_DB or <data dir>/ipt_training.db)")
    args, code = _parse(p, argv)
    if args is None:
        return code
    try:
        raw = Path(args.file).read_bytes()[: verifiable.MAX_INPUT + 1]
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        print(f"not a credential: {args.file} cannot be read as text.", file=sys.stderr)
        return 2
    r = verifiable.verify(open_store(args.db or get_settings().db_path), text)
    if r["status"] == verifiable.VALID:
        print(f"valid: {r['holder']}, {r['standard']}, valid until {r['valid_until'] or 'no expiry'}")
        return 0
    print(f"{r['status']}: {r['reason']}" + (f" ({r['holder']}, {r['standard']})" if r["holder"] else ""),
          file=sys.stderr if r["status"] == verifiable.NOT_A_CREDENTIAL else sys.stdout)
    return 2 if r["status"] == verifiable.NOT_A_CREDENTIAL else 1
