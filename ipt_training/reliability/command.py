"""The ``reliability`` command: reads a ratings CSV (one row per rating) and prints the summary as a table or JSON.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import Sequence
import pandas as pd
from .long_data import ReliabilityError, _MISSING_TOKENS, _validate_long
from .gstudy import G_COMPONENTS, d_study, g_study
from .summary import format_summary_table, summarize


class _CsvProblem(Exception):
    pass


def _read_text(path: str) -> str:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise _CsvProblem(f"no such file: {path}") from None
    except IsADirectoryError:
        raise _CsvProblem(f"{path} is a directory, not a CSV file") from None
    except PermissionError:
        raise _CsvProblem(f"cannot read {path}: permission denied") from None
    except UnicodeDecodeError:
        raise _CsvProblem(f"{path} is not UTF-8 text; save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise _CsvProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    if "\x00" in text:
        raise _CsvProblem(f"{path} contains binary data; it is not a CSV file")
    if not text.strip():
        raise _CsvProblem(f"{path} is empty; it needs a header row and one row per rating")
    return text


def _column_positions(path: str, header: list[str], wanted: Sequence[str], options: str) -> list[int]:
    """Where each ``wanted`` column is in ``header``; a missing or repeated column is a sentence
    naming the file's columns and the ``options`` that name them (both commands' CSV check)."""
    missing = [c for c in wanted if c not in header]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise _CsvProblem(f"{path} has no column{plural} {', '.join(repr(c) for c in missing)} "
                          f"(its columns: {', '.join(header)}); name the columns with {options}")
    for c in wanted:
        if header.count(c) > 1:
            raise _CsvProblem(f"column {c!r} appears twice in the header of {path}")
    return [header.index(c) for c in wanted]


def _run(prog: str, parser: argparse.ArgumentParser, argv: Sequence[str] | None, work) -> int:
    """Parse ``argv`` and run ``work(args)``, which prints its result; a problem with the file or
    the data is one sentence on stderr and exit status 2 (both commands)."""
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help or a usage error; argparse already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        work(args)
    except (_CsvProblem, ReliabilityError) as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0


def _read_ratings_csv(path: str, target: str, rater: str, rating: str) -> pd.DataFrame:
    text = _read_text(path)
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = ","
    if "," not in first_line:
        if ";" in first_line:
            delimiter = ";"
        elif "\t" in first_line:
            delimiter = "\t"
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    cols: list[int] = []
    targets: list[str] = []
    raters: list[str] = []
    ratings: list[str] = []
    lines: list[int] = []
    data_row = 0
    prev_end = 0
    try:
        for row in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                cols = _column_positions(path, header, (target, rater, rating), "--target, --rater and --rating")
                continue
            data_row += 1
            where = f"line {start} (data row {data_row})"
            if len(row) != len(header):
                extra = row[len(header):]
                extra_empty = len(row) > len(header) and all(not c.strip() for c in extra)
                if not extra_empty:
                    raise _CsvProblem(
                        f"{where} of {path} has {len(row)} field(s) but the header has "
                        f"{len(header)}; fix or delete that row"
                    )
            t, r, v = (row[i].strip() for i in cols)
            if v.lower() in _MISSING_TOKENS:
                continue  # a missing rating is simply absent
            if not t:
                raise _CsvProblem(
                    f"{where} of {path} has a rating but no {target!r}; "
                    "fill it in or delete the row"
                )
            if not r:
                raise _CsvProblem(
                    f"{where} of {path} has a rating but no {rater!r}; fill it in or delete the row"
                )
            targets.append(t)
            raters.append(r)
            ratings.append(v)
            lines.append(start)
    except csv.Error as exc:
        raise _CsvProblem(
            f"line {reader.line_num} of {path} cannot be parsed as CSV: {exc}"
        ) from None
    if header is None:
        raise _CsvProblem(f"{path} has no header row")
    if not ratings:
        raise _CsvProblem(f"{path} has no ratings (no data rows with a rating)")
    raw = pd.DataFrame({"target": targets, "rater": raters, "rating": ratings})

    def where_line(pos: int) -> str:
        return f"line {lines[pos]} of {path}"

    try:
        return _validate_long(raw, "target", "rater", "rating", where=where_line)
    except ReliabilityError as exc:
        raise _CsvProblem(str(exc)) from None


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ipt_training reliability",
        description=(
            "Inter-rater reliability of ratings in a long-format CSV file (one row per "
            "rating: target, rater, rating). Prints ICC(1,1)...ICC(3,k), the one-way ICC(1,1) and "
            "crossed ICC(A,1) on every target with two or more ratings, Krippendorff's "
            "alpha, Fleiss' and Cohen's kappa, Gwet's AC1 and exact agreement, with 95% "
            "CIs and interpretations."
        ),
        epilog=(
            "A missing rating is an absent row or an empty rating cell. Exit status: 0 on "
            "success, 2 if the file cannot be read or its rows are invalid."
        ),
    )
    parser.add_argument("file", metavar="FILE.csv", help="CSV file with a header row")
    parser.add_argument("--target", default="target", metavar="COL",
                        help="column naming the rated item, e.g. the session (default: target)")
    parser.add_argument("--rater", default="rater", metavar="COL",
                        help="column naming the rater (default: rater)")
    parser.add_argument("--rating", default="rating", metavar="COL",
                        help="column holding the rating (default: rating)")
    parser.add_argument("--scale", nargs=2, type=int, metavar=("MIN", "MAX"), default=None,
                        help="the rating scale's lowest and highest point (integers), e.g. 1 5: Gwet's AC1 "
                             "then uses MAX-MIN+1 categories (Gwet 2014) and the kappas that category set; "
                             "a rating off the scale is an error")
    parser.add_argument("--json", action="store_true",
                        help="print the full-precision summary as JSON instead of a table")
    return parser


def cli_reliability(argv: Sequence[str] | None = None) -> int:
    """Command ``reliability FILE.csv [--target COL] [--rater COL] [--rating COL] [--scale MIN MAX] [--json]``.

    Prints a table (or JSON with ``--json``) of :func:`summarize`; returns the
    exit status: 0 on success, 2 when the file is missing or unreadable, lacks
    the named columns, or contains an invalid row (reported with its line).
    """
    def work(args: argparse.Namespace) -> None:
        data = _read_ratings_csv(args.file, args.target, args.rater, args.rating)
        summary = summarize(data, scale=args.scale)
        print(json.dumps(summary, allow_nan=False) if args.json else format_summary_table(summary))

    return _run("reliability", _build_parser(), argv, work)


def _gstudy_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ipt_training gstudy",
        description=(
            "Generalizability study of fidelity scores in a CSV file (one row per score): variance "
            "components of the (s:p) x r design (sessions nested in trainees, crossed with raters, with "
            "the trainee x rater interaction where the data allow) and a D study of relative (G) and "
            "absolute (phi) coefficients for 1-6 sessions x 1-4 raters."
        ),
        epilog=("Balanced data (same number of sessions per trainee, every session scored by every rater) "
                "use ANOVA expected mean squares, otherwise Koch's symmetric-sums moments; negative "
                "estimates are set to 0 with a warning. Exit status: 0 on success, 2 on a bad file or "
                "data that cannot give the study."),
    )
    parser.add_argument("file", metavar="FILE.csv", help="CSV file with a header row")
    parser.add_argument("--person", default="trainee", metavar="COL", help="column naming the trainee (default: trainee)")
    parser.add_argument("--session", default="session", metavar="COL",
                        help="column naming the session, within the trainee (default: session)")
    parser.add_argument("--rater", default="rater", metavar="COL", help="column naming the rater (default: rater)")
    parser.add_argument("--score", default="score", metavar="COL", help="column holding the score (default: score)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    return parser


def gstudy_result(data: pd.DataFrame) -> dict:
    """The ``gstudy`` command's JSON: design, method, n, components, d_study (1-6 sessions x 1-4 raters), warnings."""
    g = g_study(data)
    d = d_study(g, raters=range(1, 5), sessions=range(1, 7))
    return {
        "design": g["design"],
        "method": g["method"],
        "n": {"trainees": g["n_trainees"], "sessions": g["n_sessions"], "raters": g["n_raters"],
              "scores": g["n_scores"]},
        "components": {k: g["components"][k] for k in G_COMPONENTS},
        "d_study": [{"sessions": int(r.n_sessions), "raters": int(r.n_raters), "g": float(r.g), "phi": float(r.phi)}
                    for r in d.sort_values(["n_sessions", "n_raters"]).itertuples()],
        "warnings": list(g["warnings"]),
    }


def _gstudy_table(res: dict) -> str:
    lines = [f"Design: {res['design']}", f"Method: {res['method']}",
             "Data: " + ", ".join(f"{v} {k}" for k, v in res["n"].items()), "", "Variance components"]
    total = sum(res["components"].values())
    for k, v in res["components"].items():
        share = f"{v / total:6.1%}" if total > 0 else "     -"
        lines.append(f"  {k.replace('_x_', ' x '):<18} {v:10.4f}  {share}")
    lines += ["", "D study: G (relative) / phi (absolute)",
              "  sessions " + "".join(f"  {n} rater{'s' if n > 1 else ' '}   " for n in range(1, 5))]
    for ns in range(1, 7):
        cells = [r for r in res["d_study"] if r["sessions"] == ns]
        lines.append(f"  {ns:>8} " + "".join(f"  {c['g']:.2f} / {c['phi']:.2f}" for c in cells))
    if res["warnings"]:
        lines += ["", "Notes:"] + [f"  - {w}" for w in res["warnings"]]
    return "\n".join(lines)


def cli_gstudy(argv: Sequence[str] | None = None) -> int:
    """Command ``gstudy FILE.csv [--person COL] [--session COL] [--rater COL] [--score COL] [--json]``.

    Prints the G and D study of :func:`gstudy_result`; returns 0, or 2 with a sentence on stderr
    when the file cannot be read, lacks the columns or cannot give the study.
    """
    def work(args: argparse.Namespace) -> None:
        cols = {"trainee": args.person, "session": args.session, "rater": args.rater, "score": args.score}
        text = _read_text(args.file)
        try:
            raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=None, engine="python")
        except (pd.errors.ParserError, csv.Error) as exc:
            raise _CsvProblem(f"{args.file} cannot be parsed as CSV: {' '.join(str(exc).split())}") from None
        raw.columns = [str(c).strip() for c in raw.columns]
        _column_positions(args.file, list(raw.columns), list(cols.values()), "--person, --session, --rater and --score")
        data = pd.DataFrame({role: raw[col].str.strip() for role, col in cols.items()})
        res = gstudy_result(data)
        print(json.dumps(res, allow_nan=False) if args.json else _gstudy_table(res))

    return _run("gstudy", _gstudy_parser(), argv, work)
