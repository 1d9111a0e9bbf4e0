"""The house rules of docs/ARCHITECTURE.md, checked on the source (issue 10).

Each domain is a package with a docstring; no module is over 700 lines; pure modules
(scoring, statistics, the readiness engine) never import Streamlit or the store; imports run
one way (domain packages never import ui or app_pages); the demo loaders have no circle.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "ipt_training"
DOMAINS = ("vignettes", "fidelity", "reliability", "credentials", "demo")
PURE = ("vignettes/scoring.py", "fidelity/pass_rule.py", "credentials/readiness.py", "reliability/long_data.py", "reliability/icc.py",
        "reliability/agreement.py", "reliability/interpretation.py", "reliability/summary.py",
        "reliability/raters.py", "reliability/certification.py", "reliability/gstudy.py", "finding.py")


def _modules():
    return sorted(p for p in PKG.rglob("*.py") if "demo_data" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("ipt_training",) + path.relative_to(PKG).parent.parts)
    if path.name == "__init__.py":
        package = package  # a package's own relative imports start from the package
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_domain_is_a_package_that_says_what_it_owns(domain):
    init = PKG / domain / "__init__.py"
    assert init.is_file(), f"ipt_training/{domain}/ must be a package"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 15, f"ipt_training/{domain}/__init__.py needs a docstring saying what it owns"


def test_no_module_is_over_700_lines():
    long = {str(p.relative_to(PKG)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700}
    assert long == {}


@pytest.mark.parametrize("rel", PURE)
def test_pure_modules_never_touch_streamlit_or_the_store(rel):
    imports = _imports(PKG / rel)
    bad = {m for m in imports if m.split(".")[0] in ("streamlit", "sqlite3", "sqlite_utils")
           or m.startswith(("ipt_training.store", "ipt_training.ui", "ipt_training.app_pages"))}
    assert bad == set(), f"{rel} is pure and must not import {sorted(bad)}"


def test_imports_run_one_way():
    """Domain packages and foundations never import ui/app_pages or Streamlit (DESIGN.md layout)."""
    offenders = {}
    for p in _modules():
        rel = p.relative_to(PKG)
        if rel.parts[0] in ("ui", "app_pages"):
            continue
        bad = {m for m in _imports(p) if m.startswith(("ipt_training.ui", "ipt_training.app_pages"))
               or m.split(".")[0] == "streamlit"}
        if bad:
            offenders[str(rel)] = sorted(bad)
    assert offenders == {}


def test_the_demo_loaders_have_no_import_circle():
    """Each domain's demo module imports domain packages only, never the demo package itself."""
    for p in (PKG / "demo").glob("*.py"):
        if p.name == "__init__.py":
            continue
        back = {m for m in _imports(p) if m == "ipt_training.demo" or m.startswith("ipt_training.demo.__init__")}
        assert back == set(), f"{p.name} imports the demo package back: {back}"
    # and each module imports on its own, in any order
    for name in ("credentials", "fidelity", "vignettes", "accounts"):
        assert importlib.import_module(f"ipt_training.demo.{name}")


def test_the_old_flat_modules_are_gone():
    for old in ("reliability.py", "reliability_data.py", "calibration.py", "fidelity.py", "transcripts.py",
                "vignettes.py", "credentials.py", "evidence.py", "credential_review.py", "demo.py",
                "demo_vignettes.py", "demo_fidelity.py", "demo_credentials.py"):
        assert not (PKG / old).exists(), old


def test_architecture_doc_says_where_every_page_lives_and_is_linked_from_the_readme():
    from ipt_training.access import PAGES

    root = PKG.parent
    doc = (root / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [p.file for p in PAGES if f"`{p.file}`" not in doc]
    assert missing == []
    for package in DOMAINS:
        assert f"`{package}/`" in doc
    assert "docs/ARCHITECTURE.md" in (root / "README.md").read_text(encoding="utf-8")
