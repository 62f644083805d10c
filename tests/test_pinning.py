"""Channel pinning per platform pair, and conda-smithy migrations a feedstock carries."""

from __future__ import annotations

from pathlib import Path

from newarch.model import PlatformPair
from newarch.render.pinning import Variants, apply_migrations, load_pinning
from newarch.sources.recipes import open_source

PINNING = Path(__file__).parent / "fixtures" / "pinning" / "conda_build_config.yaml"
LINUX = PlatformPair("linux-64", "linux-64")
WIN_ARM = PlatformPair("win-arm64", "win-64")

KEY_ADD = """\
migrator_ts: 1724712607
__migrator:
    operation: key_add
    primary_key: python
    additional_zip_keys:
        - is_freethreading
    exclude:
        - python
python:
- 3.15.* *_cp315
is_python_min:
- false
is_freethreading:
- true  # [linux]
- false  # [not linux]
"""

VERSION_PIN = """\
migrator_ts: 1
__migrator:
    kind: version
    migration_number: 1
openssl:
- '4'
"""


def test_pinning_selectors_are_evaluated_per_pair():
    arm = load_pinning(PINNING, WIN_ARM)
    linux = load_pinning(PINNING, LINUX)
    assert arm.values["python"] == ["3.14.* *_cp314"]
    assert linux.values["python"][-1] == "3.14.* *_cp314" and len(linux.values["python"]) == 3
    assert arm.values["c_compiler"] == ["vs2022"] and linux.values["c_compiler"] == ["gcc"]
    assert ["python", "is_python_min"] in linux.zip_keys


def test_key_add_migration_appends_a_zipped_row():
    base = load_pinning(PINNING, LINUX)
    base.values["is_freethreading"] = ["false"]
    out, notes = apply_migrations(base, {"python315.yaml": KEY_ADD}, LINUX, "fs/.ci_support/migrations")
    assert out.values["python"][-1] == "3.15.* *_cp315"
    assert out.values["is_python_min"][-1] == "false"
    # a key newly zipped keeps its old value on the old rows; the new row takes the migration's
    assert out.values["is_freethreading"] == ["false"] * 3 + ["true"]
    assert any({"python", "is_freethreading"} <= set(g) for g in out.zip_keys)
    assert notes == ["migration python315.yaml: added 1 python variant(s)"]


def test_key_add_of_an_existing_value_adds_nothing():
    base = load_pinning(PINNING, WIN_ARM)
    mig = KEY_ADD.replace("3.15.* *_cp315", "3.14.* *_cp314")
    out, notes = apply_migrations(base, {"m.yaml": mig}, WIN_ARM, "x")
    assert out.values["python"] == ["3.14.* *_cp314"]
    assert "added 0" in notes[0]


def test_version_migration_replaces_values_and_order_follows_timestamps():
    base = Variants({"openssl": ["3.5"], "python": ["3.14.* *_cp314"]}, [])
    later = VERSION_PIN.replace("migrator_ts: 1", "migrator_ts: 5").replace("'4'", "'5'")
    out, notes = apply_migrations(base, {"a_later.yaml": later, "z_first.yaml": VERSION_PIN}, LINUX, "x")
    assert out.values["openssl"] == ["5"]
    assert [n.split(":")[0] for n in notes] == ["migration z_first.yaml", "migration a_later.yaml"]


def test_broken_migration_is_reported_not_fatal():
    base = Variants({"python": ["3.14.* *_cp314"]}, [])
    out, notes = apply_migrations(base, {"bad.yaml": "python: [1, 2\n"}, LINUX, "fs/.ci_support/migrations")
    assert out.values == base.values
    assert notes and notes[0].startswith("migration bad.yaml ignored: ")


def test_sources_read_migrations_of_a_checkout(tmp_path):
    fs = tmp_path / "foo-feedstock"
    (fs / "recipe").mkdir(parents=True)
    (fs / "recipe" / "meta.yaml").write_text("package:\n  name: foo\n  version: 1\n")
    (fs / ".ci_support" / "migrations").mkdir(parents=True)
    (fs / ".ci_support" / "migrations" / "python315.yaml").write_text(KEY_ADD)
    (fs / ".ci_support" / "migrations" / "notes.txt").write_text("not a migration")
    src = open_source(fs)
    assert list(src.migrations) == ["python315.yaml"]
