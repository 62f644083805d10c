"""The closure crawl on small git repositories made here, served through file:// URLs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.cli import main
from newarch.model import PlatformPair
from newarch.render.pinning import load_pinning
from newarch.sources.fetch import FetchError, FolderSource, GitUrlSource, make_source
from newarch.sources.outputs_map import compact_bytes, loads_compact, preferred, read_outputs_repo, sharded_path
from newarch.store import snapshot as snapmod
from newarch.store.build import BuildRequest
from newarch.store.crawl import CrawlHooks, CrawlRequest, crawl

FIXTURES = Path(__file__).parent / "fixtures"
PINNING = FIXTURES / "pinning" / "conda_build_config.yaml"
PAIRS = [PlatformPair("win-arm64", "win-64"), PlatformPair("linux-64", "linux-64")]
CF_YML = "build_platform:\n  win_arm64: win_64\nprovider:\n  win_64: azure\n"

# app needs: make-tool (build), libfoo (host), pyrunner (run); pyrunner (v1) needs ghost, whose
# repository does not exist; foo's libfoo needs nothing; extra is only reached as a later target.
RECIPES: dict[str, dict[str, str]] = {
    "app": {
        "recipe/meta.yaml": """\
{% set version = "2.0" %}
package:
  name: app
  version: {{ version }}
requirements:
  build:
    - make-tool
    - {{ compiler('c') }}
  host:
    - libfoo >=1
  run:
    - pyrunner
    - winonly      # [win]
""",
    },
    "foo": {
        "recipe/meta.yaml": """\
package:
  name: foo-split
  version: 1.0
outputs:
  - name: libfoo
    build:
      run_exports:
        - {{ pin_subpackage('libfoo', max_pin='x') }}
  - name: foo-tools
    requirements:
      run:
        - {{ pin_subpackage('libfoo', exact=True) }}
""",
    },
    "make-tool": {
        "recipe/meta.yaml": "package:\n  name: make-tool\n  version: 4.4\n",
    },
    "winonly": {
        "recipe/meta.yaml": "package:\n  name: winonly\n  version: 1.0\n",
    },
    "pyrunner": {
        "recipe/recipe.yaml": """\
context:
  version: "0.3"
package:
  name: pyrunner
  version: ${{ version }}
build:
  noarch: python
requirements:
  host:
    - python ${{ python_min }}.*
    - pip
  run:
    - python >=${{ python_min }}
    - ghost
""",
    },
    "extra": {
        "recipe/meta.yaml": "package:\n  name: extra\n  version: 1.0\nrequirements:\n  run:\n    - libfoo\n",
    },
}
OUTPUTS_MAP = {
    "app": ["app"],
    "libfoo": ["foo"],
    "foo-tools": ["foo"],
    "make-tool": ["make-tool"],
    "winonly": ["winonly"],
    "pyrunner": ["pyrunner"],
    "ghost": ["ghost"],
    "extra": ["extra"],
    "python": ["python", "pypy-meta"],
}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=cwd, check=True, capture_output=True
    )


def make_repo(root: Path, name: str, files: dict[str, str]) -> Path:
    repo = root / f"{name}-feedstock"
    for rel, text in {**files, "conda-forge.yml": CF_YML}.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    _git(repo.parent, "init", "-q", "-b", "main", str(repo))
    _git(repo, "config", "uploadpack.allowFilter", "true")
    _git(repo, "config", "uploadpack.allowAnySHA1InWant", "true")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "initial")
    return repo


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "server"
    for name, files in RECIPES.items():
        make_repo(root, name, files)
    return root


def _request(targets: list[str], cache: Path, jobs: int = 1) -> CrawlRequest:
    breq = BuildRequest(
        sources=[],
        pairs=PAIRS,
        pinnings={p.key: load_pinning(PINNING, p) for p in PAIRS},
        pinning_source=PINNING.name,
        outputs_map=OUTPUTS_MAP,
        date="2026-08-22",
        jobs=jobs,
    )
    return CrawlRequest(targets=targets, build=breq, cache=cache, fetch_jobs=2)


def _source(served: Path, cache: Path) -> GitUrlSource:
    return GitUrlSource(f"file://{served}/{{name}}-feedstock", cache, retries=0)


def test_closure_through_run_host_and_build_edges(served, tmp_path):
    cache = tmp_path / "cache"
    snap, report = crawl(_request(["app"], cache), _source(served, cache))
    # build: make-tool; host: libfoo -> foo; run: pyrunner (v1) and winonly (win selector only)
    assert sorted(snap.feedstocks) == ["app", "foo", "make-tool", "pyrunner", "winonly"]
    assert snap.feedstocks["pyrunner"].schema == "v1"
    assert report.rendered == ["app", "foo", "make-tool", "pyrunner", "winonly"]
    assert report.reached == ["app", "foo", "ghost", "make-tool", "pypy-meta", "pyrunner", "python", "winonly"]
    # the compiler names the map does not know are named gaps, with who needs them
    assert report.unmapped == {"gcc_linux-64": ["app"], "pip": ["pyrunner"], "vs2022_win-arm64": ["app"]}
    # python is mapped to two feedstocks: both are crawled (their repositories are absent here)
    assert "python" in report.fetch_failures and "pypy-meta" in report.fetch_failures
    # clones are bare and blob-filtered, with the recipe blobs present
    clone = cache / "app-feedstock"
    assert (clone / "HEAD").is_file() and not (clone / "recipe").exists()
    assert "promisor" in (clone / "config").read_text() or (clone / "objects").is_dir()


def test_missing_repository_is_reported_and_the_crawl_goes_on(served, tmp_path):
    cache = tmp_path / "cache"
    snap, report = crawl(_request(["app"], cache), _source(served, cache))
    assert "ghost" in report.fetch_failures
    assert "ghost-feedstock" in report.fetch_failures["ghost"]
    assert "ghost" in snap.failures and "cannot fetch" in snap.failures["ghost"]
    assert "pyrunner" in snap.feedstocks  # the feedstock that needs ghost is still there
    assert not (cache / "ghost-feedstock").exists() and not list(cache.glob(".partial-*"))


def test_second_run_renders_only_the_new_feedstock(served, tmp_path):
    cache = tmp_path / "cache"
    first, _ = crawl(_request(["app"], cache), _source(served, cache))
    rendered: list[str] = []
    snap, report = crawl(
        _request(["app", "extra"], cache), _source(served, cache), CrawlHooks(on_render=rendered.append)
    )
    assert rendered == ["extra"] == report.rendered
    assert report.reused == ["app", "foo", "make-tool", "pyrunner", "winonly"]
    assert sorted(snap.feedstocks) == sorted([*first.feedstocks, "extra"])
    assert snap.feedstocks["app"].to_dict() == first.feedstocks["app"].to_dict()

    # a new commit in one repository renders that one again, after --refresh fetches it
    repo = served / "make-tool-feedstock"
    (repo / "recipe" / "meta.yaml").write_text("package:\n  name: make-tool\n  version: 4.5\n", encoding="utf-8")
    _git(repo, "commit", "-qam", "4.5")
    rendered.clear()
    src = _source(served, cache)
    src.refresh = True
    snap, _ = crawl(_request(["app", "extra"], cache), src, CrawlHooks(on_render=rendered.append))
    assert rendered == ["make-tool"]
    assert snap.feedstocks["make-tool"].renders["linux-64:linux-64"].outputs[0].version == "4.5"


def test_same_inputs_give_the_same_bytes_in_parallel(served, tmp_path):
    serial, _ = crawl(_request(["app", "extra"], tmp_path / "c1", jobs=1), _source(served, tmp_path / "c1"))
    parallel, _ = crawl(_request(["app", "extra"], tmp_path / "c2", jobs=2), _source(served, tmp_path / "c2"))
    serial.save(tmp_path / "serial.sqlite")
    parallel.save(tmp_path / "parallel.sqlite")
    assert (tmp_path / "serial.sqlite").read_bytes() == (tmp_path / "parallel.sqlite").read_bytes()


def _cli(served: Path, tmp_path: Path, out: Path, *extra: str):
    omap = tmp_path / "map.json"
    omap.write_text(json.dumps(OUTPUTS_MAP), encoding="utf-8")
    args = [
        "snapshot",
        "--closure",
        "app",
        "--source",
        f"file://{served}/{{name}}-feedstock",
        "--cache",
        str(tmp_path / "cache"),
        "--outputs-map",
        str(omap),
        "--platforms",
        "win-arm64:win-64,linux-64",
        "--pinning",
        str(PINNING),
        "--date",
        "2026-08-22",
        "-j",
        "1",
        "--out",
        str(out),
        *extra,
    ]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_ctrl_c_leaves_no_snapshot_and_a_usable_cache(served, tmp_path, monkeypatch):
    from newarch.store import crawl as crawlmod

    out = tmp_path / "closure.sqlite.xz"
    seen: list[str] = []
    real = crawlmod.CrawlHooks

    def interrupting(**kw):
        def on_render(name: str) -> None:
            seen.append(name)
            if len(seen) == 3:
                raise KeyboardInterrupt

        return real(on_render=on_render, on_progress=kw.get("on_progress"))

    monkeypatch.setattr(crawlmod, "CrawlHooks", interrupting)
    res = _cli(served, tmp_path, out)
    assert res.exit_code == 130
    assert "interrupted" in res.output and "no snapshot written" in res.output
    assert not out.exists() and not list(tmp_path.glob(".closure.sqlite.xz.*"))
    monkeypatch.setattr(crawlmod, "CrawlHooks", real)

    # the cache is usable: the next run completes, reusing the two renders finished before the interrupt
    res = _cli(served, tmp_path, out)
    assert res.exit_code == 0, res.output
    assert sorted(snapmod.load(out).feedstocks) == ["app", "foo", "make-tool", "pyrunner", "winonly"]
    assert "reused from the cache" in res.output
    assert "ghost" in res.output and "fetch failed" in res.output


def test_cli_table_and_available_stops_the_crawl(served, tmp_path):
    names = tmp_path / "have.txt"
    names.write_text("# already built\npyrunner\n", encoding="utf-8")
    out = tmp_path / "closure.sqlite.xz"
    res = _cli(served, tmp_path, out, "--available", str(names))
    assert res.exit_code == 0, res.output
    snap = snapmod.load(out)
    assert "pyrunner" not in snap.feedstocks and "ghost" not in snap.failures
    assert "names available already" in res.output and "feedstocks reached" in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80


def test_folder_template_and_bad_names(served):
    src = FolderSource(f"{served}/{{name}}-feedstock")
    got = src.get("foo")
    assert not isinstance(got, FetchError) and len(got.revision) == 40
    missing = src.get("nope")
    assert isinstance(missing, FetchError) and "no such folder" in missing.reason
    assert isinstance(src.get("../etc"), FetchError)
    assert isinstance(make_source(f"{served}/{{name}}-feedstock"), FolderSource)


def test_outputs_map_forms(tmp_path):
    assert sharded_path("libzlib") == "outputs/l/i/b/libzlib.json"
    assert sharded_path("r") == "outputs/r/z/z/r.json"
    assert sharded_path("_openmp_mutex") == "outputs/o/p/e/_openmp_mutex.json"
    repo = tmp_path / "feedstock-outputs"
    for name, fss in OUTPUTS_MAP.items():
        f = repo / sharded_path(name)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps({"feedstocks": fss}), encoding="utf-8")
    assert read_outputs_repo(repo) == {k: sorted(v) for k, v in OUTPUTS_MAP.items()}
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "outputs")
    bare = tmp_path / "bare.git"
    _git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    assert read_outputs_repo(bare) == {k: sorted(v) for k, v in OUTPUTS_MAP.items()}
    # through the git source: a blob-filtered clone of the repository, its outputs/ blobs fetched
    from newarch.commands.crawl_run import _outputs_map

    _git(repo, "config", "uploadpack.allowFilter", "true")
    _git(repo, "config", "uploadpack.allowAnySHA1InWant", "true")
    via_git = _outputs_map(f"file://{repo}", tmp_path / "cache", refresh=False)
    assert via_git == {k: sorted(v) for k, v in OUTPUTS_MAP.items()}
    assert (tmp_path / "cache" / "feedstock-outputs.git" / "HEAD").is_file()
    data = compact_bytes(OUTPUTS_MAP, "test")
    assert data == compact_bytes(dict(reversed(OUTPUTS_MAP.items())), "test")
    assert loads_compact(data, "x") == {k: sorted(v) for k, v in OUTPUTS_MAP.items()}
    assert preferred("python", ["python", "pypy-meta"]) == ["pypy-meta", "python"]
    assert preferred("python", ["pypy-meta", "python"], named_only=True) == ["python"]
    assert preferred("libzlib", ["zlib-ng", "zlib"], named_only=True) == ["zlib", "zlib-ng"]


def test_bundled_outputs_map_matches_shared_data():
    from newarch.render.pinning import SHARED_DATA_CANDIDATES
    from newarch.sources.outputs_map import load_bundled, load_outputs_json

    bundled = load_bundled()
    assert bundled["libmamba"] == ["libmamba", "mamba"] and bundled["vswhere"] == ["vswhere"]
    found = [d / "feedstock-outputs.json" for d in SHARED_DATA_CANDIDATES if (d / "feedstock-outputs.json").is_file()]
    if not found:
        pytest.skip("../shared/data not present")
    shared = found[0]
    assert bundled == load_outputs_json(shared)


def test_node_attrs_source_crawls_without_fetching_recipes(tmp_path):
    from test_node_attrs import linux_only, write_graph

    lib = {
        "feedstock_name": "foo",
        "platforms": ["linux_64"],
        "linux_64_meta_yaml": {
            "package": {"name": "libfoo", "version": "1.0"},
            "schema_version": 0,
            "requirements": {"build": [], "host": [], "run": []},
        },
        "parsing_error": False,
    }
    root = write_graph(tmp_path / "cf-graph", [linux_only(), lib])
    source = make_source(str(root))
    req = _request(["glibc-thing"], tmp_path / "cache")
    req.build.outputs_map = {**OUTPUTS_MAP, "glibc-thing": ["glibc-thing"]}
    snap, report = crawl(req, source)
    # glibc-thing's host libfoo leads to foo's node_attrs file
    assert sorted(snap.feedstocks) == ["foo", "glibc-thing"]
    assert snap.feedstocks["foo"].source == "node_attrs"
    assert report.rendered == ["foo", "glibc-thing"] and not report.fetch_failures
