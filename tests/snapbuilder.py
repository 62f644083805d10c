"""Build small Snapshot objects concisely for planner tests.

    b = SnapBuilder()                                   # renders for win-arm64<-win-64
    b.fs("zlib", out("libzlib", build=["vs2022_win-arm64"], run_exports={"weak": ["libzlib >=1.3"]}))
    snap = b.snapshot()

Requirement strings may carry a condition after ``#``: ``"ucrt >=10 # win64"``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from collections.abc import Iterable

from newarch.model import Dropped, Feedstock, Output, PlatformPair, PlatformSettings, RenderResult, Requirement
from newarch.store.snapshot import Snapshot

PAIR = PlatformPair("win-arm64", "win-64")
WIN64 = PlatformPair("win-64", "win-64")
LINUX64 = PlatformPair("linux-64", "linux-64")


def req(text: str) -> Requirement:
    spec, _, cond = text.partition("#")
    return Requirement.from_spec(spec.strip(), cond.strip())


def out(
    name: str,
    *,
    build: Iterable[str] = (),
    host: Iterable[str] = (),
    run: Iterable[str] = (),
    noarch: str = "",
    skip: bool = False,
    skip_reason: str = "",
    run_exports: dict[str, list[str]] | None = None,
    variant: dict[str, str] | None = None,
    ignore_run_exports: Iterable[str] = (),
    ignore_run_exports_from: Iterable[str] = (),
    dropped: Iterable[tuple[str, str, str]] = (),
    version: str = "",
) -> Output:
    reqs = {s: tuple(req(r) for r in rs) for s, rs in (("build", build), ("host", host), ("run", run)) if rs}
    return Output(
        name=name,
        version=version,
        noarch=noarch,
        skip=skip,
        skip_reason=skip_reason,
        variant=dict(variant or {}),
        requirements=reqs,
        run_exports={k: tuple(v) for k, v in (run_exports or {}).items()},
        ignore_run_exports=tuple(ignore_run_exports),
        ignore_run_exports_from=tuple(ignore_run_exports_from),
        dropped=tuple(Dropped(s, n, c) for s, n, c in dropped),
    )


class SnapBuilder:
    def __init__(self, pair: PlatformPair = PAIR) -> None:
        self.pair = pair
        self.feedstocks: dict[str, Feedstock] = {}
        self.output_index: dict[str, list[str]] = {}
        self.pinning: dict[str, Any] = {"platforms": {}}

    def fs(
        self,
        name: str,
        *outputs: Output,
        pair: PlatformPair | None = None,
        error: str = "",
        settings: PlatformSettings | None = None,
    ) -> SnapBuilder:
        """Add (or extend) feedstock ``name`` with a render of ``outputs`` for ``pair``."""
        p = pair or self.pair
        f = self.feedstocks.setdefault(name, Feedstock(name=name, source="test"))
        if settings is not None:
            f.settings = settings
        f.renders[p.key] = RenderResult(p, list(outputs), error=error)
        return self

    def index(self, name: str, *feedstocks: str) -> SnapBuilder:
        self.output_index[name] = list(feedstocks)
        return self

    def python(self, pair: PlatformPair, *versions: str) -> SnapBuilder:
        facts = self.pinning["platforms"].setdefault(pair.key, {"values": {}, "zip_keys": []})  # Variants.to_dict()
        facts["values"]["python"] = list(versions)
        return self

    def snapshot(self, channel: bool = True, missing: Iterable[str] = ("cross-python_win-arm64",)) -> Snapshot:
        """``channel``: like the real snapshot, index every name the recipes produce anywhere (the channel
        has them, so they exist on the build platform) except the ``missing`` ones."""
        index = dict(self.output_index)
        feedstocks = dict(self.feedstocks)
        if channel and self.pair.cross:
            # the channel builds them for the build platform too: a render of the build platform says so
            # (without the missing names), unless the test wrote that render itself
            skip = set(missing)
            build = PlatformPair(self.pair.build, self.pair.build)
            for name, f in list(feedstocks.items()):
                mine = f.renders.get(self.pair.key)
                if mine is None or build.key in f.renders:
                    continue
                outs = [
                    replace(
                        o,
                        requirements={
                            s: tuple(r for r in rs if r.name not in skip) for s, rs in o.requirements.items()
                        },
                    )
                    for o in mine.outputs
                    if o.name not in skip
                ]
                copy = replace(f, renders={**f.renders, build.key: RenderResult(build, outs)})
                feedstocks[name] = copy
        if channel:
            skip = set(missing)
            for f in self.feedstocks.values():
                for r in f.renders.values():
                    for o in r.outputs:
                        if o.name not in skip and f.name not in index.setdefault(o.name, []):
                            index[o.name].append(f.name)
        pairs = sorted({PlatformPair.parse(k) for f in self.feedstocks.values() for k in f.renders} | {self.pair})
        return Snapshot(
            date="2026-08-01",
            description="test",
            pairs=pairs,
            pinning=self.pinning,
            feedstocks=feedstocks,
            output_index=index,
        )


def conda_forge_like() -> SnapBuilder:
    """A small model of the real conda-forge shapes the planner must get right on win-arm64<-win-64."""
    b = SnapBuilder()
    compilers = ["vs2022_win-arm64", "vs_win-arm64"]
    py = {"python": "3.14.* *_cp314"}
    b.fs(
        "vc",
        out("vc14_runtime", run=[]),
        out("vc", run=["vc14_runtime"]),
        out("vs2022_win-arm64", run_exports={"strong": ["vc >=14.3,<15", "vc14_runtime >=14.40"]}),
        out(
            "vs_win-arm64", run=["vs2022_win-arm64"], run_exports={"strong": ["vc >=14.3,<15", "vc14_runtime >=14.40"]}
        ),
    )
    # on win-64 the same activation package also exports ucrt
    b.fs(
        "vc",
        out("vs2022_win-64", run_exports={"strong": ["vc >=14.3,<15", "vc14_runtime >=14.40", "ucrt >=10.0.20348.0"]}),
        pair=WIN64,
    )
    b.fs("ucrt", out("ucrt"))
    b.fs(
        "zlib",
        out("libzlib", build=compilers, run_exports={"weak": ["libzlib >=1.3.1,<2"]}),
        out("zlib", build=compilers, host=["libzlib"], run=["libzlib"]),
    )
    b.fs(
        "openssl",
        out(
            "openssl",
            build=compilers + ["m2-perl"],
            host=["ca-certificates"],
            run_exports={"weak": ["openssl >=3.5,<4"]},
        ),
    )
    b.fs("ca-certificates", out("ca-certificates", build=compilers))
    b.fs(
        "m2-binary-packages",
        out("m2-perl", noarch="generic", run=["m2-msys2-runtime"]),
        out("m2-msys2-runtime", noarch="generic"),
    )
    b.fs("libffi", out("libffi", build=compilers, run_exports={"strong": ["libffi >=3.5,<3.6"]}))
    b.fs(
        "python",
        out(
            "python",
            build=compilers,
            host=["zlib", "openssl", "libffi"],
            run=["tzdata"],
            variant=py,
            run_exports={"noarch": ["python"], "weak": ["python_abi 3.14.* *_cp314"]},
        ),
    )
    b.fs("python_abi", out("python_abi", variant=py))
    b.fs("tzdata", out("tzdata", noarch="generic"))
    # cffi: cross-python in build when cross-compiling
    b.fs(
        "cffi",
        out(
            "cffi",
            build=["python", "cross-python_win-arm64 # build_platform != target_platform"] + compilers,
            host=["python", "pip", "setuptools"],
            run=["python", "pycparser"],
            variant=py,
        ),
    )
    b.fs("pip", out("pip", noarch="python", host=["python"], run=["python"]))
    b.fs("setuptools", out("setuptools", noarch="python", host=["python"], run=["python"]))
    b.fs("pycparser", out("pycparser", noarch="python", host=["python"], run=["python"]))
    b.fs("cmake", out("cmake", build=compilers, host=["zlib"]))
    b.fs("ninja", out("ninja", build=compilers))

    # libmamba, produced by both the libmamba and the mamba feedstocks (one Output object each)
    def libmamba() -> Output:
        return out(
            "libmamba",
            build=compilers + ["cmake", "ninja"],
            host=["libsolv", "fmt"],
            run_exports={"strong": ["libmamba >=2.3,<2.4"]},
        )

    b.fs("libmamba", libmamba())
    b.fs(
        "libsolv",
        out("libsolv", build=compilers + ["cmake"], host=["zlib"], run_exports={"weak": ["libsolv >=0.7,<0.8"]}),
    )
    b.fs("fmt", out("fmt", build=compilers, run_exports={"weak": ["fmt >=11.2,<11.3"]}))
    b.fs(
        "mamba",
        libmamba(),
        out(
            "libmambapy",
            build=compilers
            + ["cmake", "ninja", "python", "cross-python_win-arm64 # build_platform != target_platform"],
            host=["python", "libmamba", "pybind11"],
            run=["python"],
            variant=py,
        ),
        out(
            "libmambapy-stubs",
            noarch="python",
            skip=True,
            skip_reason="env.exists('CI') and not linux64",
            host=["python", "mypy", "libmambapy"],
            run=[],
        ),
        out(
            "mamba",
            build=compilers + ["cmake", "ninja"],
            host=["libmamba", "fmt"],
            run=["libmambapy"],
            ignore_run_exports_from=["fmt"],
        ),
    )
    b.fs(
        "mamba",
        out("libmambapy-stubs", noarch="python", host=["python", "mypy", "libmambapy"]),
        out("libmambapy", host=["python", "libmamba"], run=["python"], variant={"python": "3.12.* *_cp312"}),
        pair=LINUX64,
    )
    b.fs("pybind11", out("pybind11", build=compilers, host=["python"], run=["python"], variant=py))
    b.fs("mypy", out("mypy", build=compilers, host=["python"], run=["python"], variant=py))
    b.python(PAIR, "3.14")
    return b


def branch(
    b: SnapBuilder, fs: str, name: str, version: str, *outputs: Output, pair: PlatformPair | None = None
) -> None:
    """Add a rendered release branch ``name`` (building ``version``) to feedstock ``fs``."""
    from newarch.model import Branch

    p = pair or b.pair
    f = b.feedstocks.setdefault(fs, Feedstock(name=fs, source="test"))
    br = f.branches.setdefault(name, Branch(name, version=version, recipe_file="recipe/meta.yaml"))
    br.renders[p.key] = RenderResult(p, list(outputs))


OSX = PlatformPair("osx-arm64", "osx-64")
PY = {v: {"python": f"{v}.* *_cpython"} for v in ("3.12", "3.13")}


def osx_snapshot() -> Snapshot:
    """osx-arm64<-osx-64 shapes of issue 11: python per branch, openssl 3.5.* only a branch builds, a
    ruamel.yaml pin only the recipe history satisfies, libffi 3.5.* nobody builds, backports.zstd
    compiled for 3.12 and noarch (python >=3.13) elsewhere."""
    from newarch.model import HistoryEntry

    b = SnapBuilder(OSX).python(OSX, "3.12.* *_cpython", "3.13.* *_cpython")
    b.fs("python", out("python", version="3.13.5", host=["openssl 3.5.*", "libffi 3.5.*"], variant={"python": "3.13"}))
    branch(
        b,
        "python",
        "3.12",
        "3.12.9",
        out("python", version="3.12.9", host=["openssl 3.5.*"], variant={"python": "3.12"}),
    )
    b.fs("openssl", out("openssl", version="3.6.2"))
    branch(b, "openssl", "3.5.x", "3.5.6", out("openssl", version="3.5.6"))
    b.fs("libffi", out("libffi", version="3.4.6"))
    b.fs(
        "conda",
        *[
            out("conda", run=["python", "ruamel.yaml >=0.11.14,<0.19", "backports.zstd >=1.3"], variant=PY[v])
            for v in PY
        ],
    )
    b.fs("ruamel.yaml", out("ruamel.yaml", version="0.19.1", noarch="python", run=["python >=3.9"]))
    b.feedstocks["ruamel.yaml"].source = "git"
    b.feedstocks["ruamel.yaml"].history = (
        HistoryEntry("aaaaaaa1111", "2026-01-10", "0.19.1"),
        HistoryEntry("abc1234ffff", "2025-11-02", "0.18.17"),
    )
    b.fs(
        "backports.zstd",
        *[out("backports.zstd", version="1.5.0", host=["python"], variant={"python": "3.12.* *_cpython"})],
    )
    b.fs(
        "backports.zstd",
        out("backports.zstd", version="1.5.0", noarch="python", run=["python >=3.13"]),
        pair=PlatformPair("linux-64", "linux-64"),
    )
    return b.snapshot()
