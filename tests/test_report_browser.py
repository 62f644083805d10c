"""The HTML report driven in real headless Chromium (Debian's /usr/bin/chromium, never a download)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pytest

from newarch.model import Finding
from newarch.report import write_report
from newarch.status.states import compute_status, load_prs, plan_for_status

from test_status import PAIR, chain_snapshot, feedstock, out

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EVIL = "<script>alert(1)</script>"
EVIL_MSG = "maintainer <img src=x onerror=alert(2)> wrote this"
EVIL_PRUNED = "<img src=y onerror=alert(3)>"
WIDTHS = (800, 1400)

# On CI (CI=true, as .ci/run sets it) a missing browser is a failure: the tests must run there. Locally
# they are skipped with the reason.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run on CI)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not Path(CHROMIUM).exists():
    _missing(f"{CHROMIUM} is not installed (Debian package 'chromium'); the browser tests need it")
try:
    from playwright import sync_api
except ImportError:
    _missing("the python package 'playwright' is not installed")


class Report(NamedTuple):
    path: Path
    states: dict[str, str]  # planned feedstock -> state
    why: dict[str, list[str]]  # planned feedstock -> [target, ..., it]
    pruned: dict[str, tuple[str, str]]  # pruned feedstock -> (code, reason)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Report:
    tmp = tmp_path_factory.mktemp("report")
    bad = Finding("mingw-on-arm64", "error", EVIL, "recipe/meta.yaml", 3, EVIL_MSG, "use the clang toolchain")
    snap = chain_snapshot(
        zlib=feedstock("zlib", configured=True),
        ext=feedstock("ext", out("ext", host=["lib", "zlib"], run=["lib"])),
        app=feedstock("app", out("app", host=["lib", "tool", "ext", "d4"], run=["lib", "ext"])),
        # a long chain, so the graph is wider than an 800 px window: it must scroll in its own box
        d1=feedstock("d1", out("d1", host=["zlib"])),
        d2=feedstock("d2", out("d2", host=["d1"])),
        d3=feedstock("d3", out("d3", host=["d2"])),
        d4=feedstock("d4", out("d4", host=["d3 >=1"], run=["d3"])),
        orphan=feedstock("orphan", out("orphan", host=["zlib"])),  # nothing needs it: pruned
        **{EVIL: feedstock(EVIL, findings=(bad,)), EVIL_PRUNED: feedstock(EVIL_PRUNED)},
    )
    prs_file = tmp / "prs.csv"
    prs_file.write_text("tool,https://github.com/conda-forge/tool-feedstock/pull/5,open\n")
    plan = plan_for_status(snap, ["app", EVIL], PAIR.target, PAIR.build)
    rep = compute_status(snap, plan, None, load_prs(prs_file))
    path = write_report(rep, tmp / "site")
    states = {n: s.state for n, s in rep.feedstocks.items()}
    why = {n: list(s.why) for n, s in rep.feedstocks.items()}
    return Report(path, states, why, {p.name: (p.code, p.reason) for p in plan.pruned})


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, report_file):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.events = {"dialogs": [], "errors": [], "requests": []}  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.events["dialogs"].append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.events["errors"].append(str(e)))
    pg.on("request", lambda r: pg.events["requests"].append(r.url))
    pg.goto(report_file.path.as_uri())
    yield pg
    ctx.close()


def classes(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('class'))")


def test_graph_has_one_node_per_planned_feedstock(page, report_file):
    states = report_file.states
    names = page.eval_on_selector_all("svg#graph g.node", "els => els.map(e => e.dataset.name)")
    assert sorted(names) == sorted(states)
    got = page.eval_on_selector_all(
        "svg#graph g.node", "els => Object.fromEntries(els.map(e => [e.dataset.name, e.getAttribute('class')]))"
    )
    assert all(f"st-{states[n]}" in got[n].split() for n in states)
    assert page.events["errors"] == []


def test_clicking_a_node_highlights_its_why_chain(page, report_file):
    why = report_file.why
    assert why["zlib"][0] == "app" and len(why["zlib"]) >= 3  # e.g. app -> lib -> zlib
    page.click('svg#graph g.node[data-name="zlib"]')
    chain = page.eval_on_selector_all("svg#graph g.node.chain", "els => els.map(e => e.dataset.name)")
    assert sorted(chain) == sorted(why["zlib"])
    assert "focus" in page.get_attribute("svg#graph", "class")
    edges = page.eval_on_selector_all(
        "svg#graph path.edge.chain", "els => els.map(e => [e.dataset.from, e.dataset.to])"
    )
    expected = {(why["zlib"][i + 1], why["zlib"][i]) for i in range(len(why["zlib"]) - 1)}
    assert {tuple(e) for e in edges} == expected
    assert page.locator("#detail h3").text_content() == "zlib"
    assert " → ".join(why["zlib"]) in page.locator("#detail").text_content()
    page.keyboard.press("Escape")
    assert page.eval_on_selector_all("svg#graph .chain", "els => els.length") == 0


def test_hover_shows_the_nodes_edges(page):
    page.hover('svg#graph g.node[data-name="lib"]')
    needs = page.eval_on_selector_all("path.edge.hover-in", "els => els.map(e => e.dataset.from)")
    needed_by = page.eval_on_selector_all("path.edge.hover-out", "els => els.map(e => e.dataset.to)")
    assert needs == ["zlib"]  # zlib is done, and still drawn as the parent it was
    assert sorted(needed_by) == ["app", "ext"]
    page.mouse.move(1, 1)
    assert page.eval_on_selector_all("path.edge.hover-out", "els => els.length") == 0


def test_table_filter_and_state_filter(page, report_file):
    states = report_file.states

    def visible() -> list[str]:
        return page.eval_on_selector_all("#feedstocks tbody tr:not([hidden])", "els => els.map(e => e.dataset.name)")

    assert sorted(visible()) == sorted(states)
    page.fill("#filter", "ZLIB")  # case-insensitive
    assert "zlib" in visible() and "tool" not in visible()
    assert all("zlib" in page.get_attribute(f'#feedstocks tr[data-name="{n}"]', "data-search") for n in visible())
    page.fill("#filter", "")
    page.select_option("#state-filter", "awaiting-parents")
    assert sorted(visible()) == sorted(n for n, s in states.items() if s == "awaiting-parents")
    assert page.locator("#shown").text_content().startswith(f"{len(visible())} of {len(states)}")
    # the graph dims nodes the filter hides
    dimmed = page.eval_on_selector_all("g.node.filtered-out", "els => els.map(e => e.dataset.name)")
    assert sorted(dimmed) == sorted(n for n, s in states.items() if s != "awaiting-parents")


def test_table_sorts_by_column(page, report_file):
    page.click('#feedstocks th[data-key="unblocks"]')
    vals = page.eval_on_selector_all("#feedstocks tbody tr", "els => els.map(e => +e.cells[3].dataset.value)")
    assert vals == sorted(vals)
    page.click('#feedstocks th[data-key="unblocks"]')
    vals = page.eval_on_selector_all("#feedstocks tbody tr", "els => els.map(e => +e.cells[3].dataset.value)")
    assert vals == sorted(vals, reverse=True) and vals[0] > vals[-1]
    assert page.get_attribute('#feedstocks th[data-key="unblocks"]', "aria-sort") == "descending"


def test_recipe_strings_render_as_text_and_run_nothing(page, report_file):
    states = report_file.states
    assert states[EVIL] == "blocked"
    row = page.locator('#feedstocks tbody tr[data-state="blocked"]')
    assert row.count() == 1
    assert row.locator("td").first.text_content().startswith(EVIL)
    assert EVIL_MSG in row.text_content()
    page.click("svg#graph g.node.st-blocked")
    assert page.locator("#detail h3").text_content() == EVIL
    assert EVIL_MSG in page.locator("#detail").text_content()
    assert page.events["dialogs"] == [] and page.events["errors"] == []
    # no element was created from the recipe strings
    assert page.eval_on_selector_all("img", "els => els.length") == 0
    assert page.eval_on_selector_all("script", "els => els.length") == 2  # data + our code


def test_page_is_self_contained_and_screenshot(page, report_file, tmp_path):
    assert all(u.startswith(("file://", "data:")) for u in page.events["requests"]), page.events["requests"]
    assert page.locator("a[href^='https://github.com/conda-forge/tool-feedstock/pull/5']").count() >= 1
    page.click('svg#graph g.node[data-name="lib"]')
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


# -- item 7: links, edge reasons, pruned table, 800 px ---------------------------------------------


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def sized_page(request, browser, report_file):
    ctx = browser.new_context(viewport={"width": request.param, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(report_file.path.as_uri())
    yield pg
    assert errors == []
    ctx.close()


def test_no_horizontal_page_scroll_and_the_graph_pans_in_its_box(sized_page, tmp_path):
    pg = sized_page
    width = pg.viewport_size["width"]
    pg.click('svg#graph g.node[data-name="zlib"]')  # the detail panel is filled: it must fit too
    assert pg.evaluate("document.documentElement.scrollWidth") <= pg.evaluate("window.innerWidth") == width
    # nothing sticks out of the window except what is inside the graph's own scroll box
    outside = pg.evaluate(
        """Array.from(document.querySelectorAll('body *'))
             .filter(e => !e.closest('.graph-scroll') && e.getBoundingClientRect().right > window.innerWidth + 0.5)
             .map(e => e.tagName + '.' + e.className)"""
    )
    assert outside == []
    box = pg.evaluate(
        """(() => { const s = document.querySelector('.graph-scroll'), st = getComputedStyle(s);
                    return {sw: s.scrollWidth, cw: s.clientWidth, ox: st.overflowX,
                            svg: document.getElementById('graph').getBoundingClientRect().width}; })()"""
    )
    assert box["ox"] == "auto" and box["svg"] <= box["sw"]
    assert box["sw"] > box["cw"], box  # 9 waves do not fit 800 or 1400 px: the box scrolls
    pg.evaluate("document.querySelector('.graph-scroll').scrollLeft = 0")
    pg.hover(".graph-scroll")
    pg.mouse.wheel(400, 0)
    pg.wait_for_function("document.querySelector('.graph-scroll').scrollLeft > 0")
    assert pg.evaluate("window.scrollX") == 0
    pg.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)


def test_why_chain_in_the_detail_shows_the_edge_reason_of_each_step(sized_page, report_file):
    why = report_file.why["zlib"]
    assert why == ["app", "lib", "zlib"]
    sized_page.click('svg#graph g.node[data-name="zlib"]')
    steps = sized_page.eval_on_selector_all(
        "#detail ol.steps > li",
        "els => els.map(li => [li.querySelector('.step').textContent,"
        " Array.from(li.querySelectorAll('.reason')).map(r => r.textContent)])",
    )
    assert steps == [
        ["app needs lib", ["'lib' in host", "'lib' in run"]],
        ["lib needs zlib", ["'zlib 1.3.*' in host", "'zlib >=1.3' in run"]],
    ]
    sized_page.click('svg#graph g.node[data-name="d1"]')
    steps = sized_page.eval_on_selector_all("#detail ol.steps .reason", "els => els.map(e => e.textContent)")
    assert steps == ["'d4' in host", "'d3 >=1' in host", "'d3' in run", "'d2' in host", "'d1' in host"]


def test_every_feedstock_links_to_its_repository_and_conda_forge_yml(page, report_file):
    links = page.eval_on_selector_all(
        "#feedstocks tbody tr",
        "els => els.map(r => [r.dataset.name, r.querySelector('a.repo').href, r.querySelector('a.cfyml').href])",
    )
    assert sorted(n for n, _, _ in links) == sorted(report_file.states)
    for name, repo, cfyml in links:
        if name == EVIL:
            assert repo == "https://github.com/conda-forge/%3Cscript%3Ealert%281%29%3C%2Fscript%3E-feedstock"
        else:
            assert repo == f"https://github.com/conda-forge/{name}-feedstock"
        assert cfyml == f"{repo}/blob/main/conda-forge.yml"
    page.click('svg#graph g.node[data-name="lib"]')
    assert page.get_attribute("#detail a.repo", "href") == "https://github.com/conda-forge/lib-feedstock"
    assert page.get_attribute("#detail a.cfyml", "href").endswith("lib-feedstock/blob/main/conda-forge.yml")


def test_pruned_table_lists_every_pruned_feedstock_with_its_reason_and_filters(sized_page, report_file):
    pg = sized_page
    pruned = report_file.pruned
    assert pruned["orphan"][0] == "unreachable" and EVIL_PRUNED in pruned
    rows = pg.eval_on_selector_all(
        "#pruned tbody tr", "els => els.map(r => [r.dataset.name, r.cells[1].textContent, r.cells[2].textContent])"
    )
    assert {n: (c, r) for n, c, r in rows} == pruned and len(rows) == len(pruned)

    def visible() -> list[str]:
        return pg.eval_on_selector_all("#pruned tbody tr:not([hidden])", "els => els.map(e => e.dataset.name)")

    pg.fill("#pruned-filter", "ORPH")
    assert visible() == ["orphan"]
    assert pg.locator("#pruned-shown").text_content() == f"1 of {len(pruned)} shown"
    pg.fill("#pruned-filter", "")
    pg.select_option("#pruned-code", "unreachable")
    assert sorted(visible()) == sorted(n for n, (c, _) in pruned.items() if c == "unreachable")
    pg.fill("#pruned-filter", "nothing matches this")
    assert visible() == []
    assert pg.get_attribute('#pruned tr[data-name="orphan"] a', "href") == (
        "https://github.com/conda-forge/orphan-feedstock"
    )
    assert pg.eval_on_selector_all("img", "els => els.length") == 0
