"""``newarch render``: table and JSON output, pinning file with selectors, env overrides, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.cli import main

PINNING = """\
python:
  - 3.12.* *_cpython   # [not (win and arm64)]
  - 3.14.* *_cp314     # [win and arm64]
is_python_min:
  - true
python_min:
  - 3.12               # [not (win and arm64)]
  - 3.14               # [win and arm64]
c_compiler:
  - vs2022             # [win]
  - gcc                # [linux]
c_stdlib:
  - vs                 # [win]
  - sysroot            # [linux]
zip_keys:
  - [python, is_python_min]
"""

RECIPE = """\
context:
  version: "1.2.3"
recipe:
  name: demo-split
  version: ${{ version }}
outputs:
  - package:
      name: libdemo
    requirements:
      build:
        - ${{ compiler('c') }}
        - ${{ stdlib('c') }}
      run_exports:
        strong:
          - ${{ pin_subpackage('libdemo', upper_bound='x') }}
  - package:
      name: demo-python
    build:
      noarch: python
      skip: env.exists('CI') and not linux
    requirements:
      host:
        - python ${{ python_min }}.*
      run:
        - python >=${{ python_min }}
        - ${{ pin_subpackage('libdemo', exact=True) }}
"""


@pytest.fixture()
def feedstock(tmp_path: Path) -> Path:
    root = tmp_path / "demo-feedstock"
    (root / "recipe").mkdir(parents=True)
    (root / "recipe" / "recipe.yaml").write_text(RECIPE)
    (tmp_path / "cbc.yaml").write_text(PINNING)
    return root


def run(*args: str):
    return CliRunner().invoke(main, ["render", *args], catch_exceptions=False)


def test_json_document(feedstock: Path):
    res = run(
        str(feedstock), "--platform", "win-arm64", "--pinning", str(feedstock.parent / "cbc.yaml"), "--format", "json"
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "newarch.render/1"
    assert (doc["feedstock"], doc["recipe_schema"], doc["target"], doc["build"]) == (
        "demo",
        "v1",
        "win-arm64",
        "win-64",
    )
    assert doc["error"] is None and doc["env"] == {"CI": "true"} and doc["pinning"].endswith("cbc.yaml")
    outs = {o["name"]: o for o in doc["outputs"]}
    assert outs["libdemo"]["requirements"]["build"] == [
        {"name": "vs2022_win-arm64", "spec": "vs2022_win-arm64", "line": 11},
        {"name": "vs_win-arm64", "spec": "vs_win-arm64", "line": 12},
    ]
    assert outs["libdemo"]["run_exports"] == {"strong": ["libdemo >=1.2.3,<2a0"]}
    py = outs["demo-python"]
    assert py["noarch"] == "python" and py["skip"] is True
    assert py["skip_reason"] == "env.exists('CI') and not linux"
    assert py["variant"] == {"python_min": "3.14"}
    assert [r["spec"] for r in py["requirements"]["host"]] == ["python 3.14.*"]
    assert [(r["name"], r["line"]) for r in py["requirements"]["run"]] == [("python", 25), ("libdemo", 26)]


def test_env_override_unsets_ci(feedstock: Path):
    res = run(
        str(feedstock),
        "--platform",
        "win-64",
        "--pinning",
        str(feedstock.parent / "cbc.yaml"),
        "--env",
        "-CI",
        "--env",
        "FOO=bar",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["env"] == {"FOO": "bar"} and doc["build"] == "win-64"
    py = next(o for o in doc["outputs"] if o["name"] == "demo-python")
    assert "skip" not in py


def test_table_lists_outputs_and_requirements(feedstock: Path):
    res = run(str(feedstock / "recipe"), "--platform", "linux-64", "--pinning", str(feedstock.parent / "cbc.yaml"))
    assert res.exit_code == 0, res.output
    assert "libdemo 1.2.3" in res.output and "demo-python 1.2.3" in res.output
    assert "gcc_linux-64" in res.output and "sysroot_linux-64" in res.output
    assert "SKIPPED" not in res.output  # the stubs-like output is built on linux


def test_unrenderable_recipe_exits_nonzero_with_one_error_line(feedstock: Path):
    (feedstock / "recipe" / "recipe.yaml").write_text(RECIPE.replace("outputs:", "outputs: [", 1))
    res = CliRunner().invoke(main, ["render", str(feedstock), "--pinning", str(feedstock.parent / "cbc.yaml")])
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: demo/recipe/recipe.yaml:")


def test_bad_env_and_missing_path(feedstock: Path, tmp_path: Path):
    res = CliRunner().invoke(main, ["render", str(feedstock), "--env", "oops"])
    assert res.exit_code == 2 and "KEY=VALUE" in res.stderr
    res = CliRunner().invoke(main, ["render", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such file" in res.stderr
