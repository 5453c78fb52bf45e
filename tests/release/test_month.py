"""The simulated month's harness (tests/release/month.py, issue 82): its fault scripts, and a
few cycles of it, run as `make month` runs the whole month."""

from __future__ import annotations

import json

import pytest

from cryptopredict.assets import pairs_setting
from tests.release import month, month_tools
from tests.release.month_exchanges import PAIRS, Exchanges
from tests.release.month_report import bar, mentions, said_words, summary
from tests.release.month_world import EXCHANGE_KINDS, HOUR, KINDS, Fault, World

ANOTHER = month.FAULTS.with_name("month_faults_another.json")
REAL = month.FAULTS.with_name("month_faults_real.json")


def kinds(path) -> list[str]:
    return [fault["kind"] for fault in month.read_script(path)["faults"]]


def test_another_fault_script_holds_every_kind_in_another_order():
    """Bar 2: a script in the documented format, every kind, in another order."""
    ours, theirs = kinds(month.FAULTS), kinds(ANOTHER)
    assert set(ours) == set(theirs) == set(KINDS) - set(EXCHANGE_KINDS), "none a build can't meet"
    assert set(kinds(REAL)) >= set(EXCHANGE_KINDS), "BUILD=real's: the exchanges'"
    assert list(dict.fromkeys(ours)) != list(dict.fromkeys(theirs)), "another order"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"faults": [{"kind": "outage", "hour": 3}]}', "`kind` must be one of gh-503"),
        ('{"faults": [{"kind": "gh-503", "hour": 720}]}', "within the month's 720 hours"),
        ('{"faults": [{"kind": "gh-503", "hour": 3, "minute": 3}]}', "field `minute` - at"),
        ('{"faults": [{"kind": "gh-503", "hour": "3"}]}', "got `str` - at `$.faults[0].hour`"),
        ('{"faults": [{"kind": "gh-503", "hour": 3, "count": 0}]}', "- at `$.faults[0].count`"),
        ('{"faults": [{"kind": "advisory", "hour": 3, "package": "flask"}]}', "its `id`"),
        ('{"faults": [{"kind": "advisory", "hour": 3, "package": "leftpad", "id": "X"}]}', "pins"),
        ('{"faults": [{"kind": "rollback", "hour": 3, "person": {}}]}', "field `after_hours`"),
        ('{"faults": [], "start": "2026-12-01T00:00:00"}', "timezone component - at `$.start`"),
        ('{"faults": [], "pushes": [3, 800]}', "`pushes` must be within the month's 720 hours"),
        ('{"faults": [{"kind": "gh-503", "hour": 3}', "truncated"),
    ],
)
def test_a_fault_script_it_cannot_read_is_refused_naming_where(tmp_path, capsys, text, said):
    script = tmp_path / "faults.json"
    script.write_text(text)
    assert month.main(["--faults", str(script), "--out", str(tmp_path / "out")]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing is simulated, nothing written"


@pytest.mark.slow  # eight workflow runs against a real registry
def test_a_short_month_judges_each_fault_as_the_whole_month_does(tmp_path, capsys):
    """Two cycles and a push (issue 103): GitHub's 503s to the first three tries to start the
    first cycle's build on the newest tag, the fourth within the dispatch job; a registry
    refusing four blob pushes fails that build (BuildKit's four tries), healed by the next run
    that builds the tag; Docker Hub refusing the push's test container three times leaves the
    push untagged (its run still starts the newest tag's rebuild, which heals the registry's
    fault), tagged and released by the next cycle's run on main; a refused cache export
    fails no build and production asleep for 50 s is woken, nothing said (issue 105).
    Production stays fresh and each release is one issue of the record."""
    script = tmp_path / "faults.json"
    faults = [
        {"kind": "github-api-5xx", "hour": 0, "call": "dispatches", "count": 3},
        {"kind": "registry-push-503", "hour": 0, "count": 4},
        {"kind": "base-image-429", "hour": 2, "count": 3},
        {"kind": "cache-export-denied", "hour": 3},
        {"kind": "render-cold-start", "hour": 3, "seconds": 50},
    ]
    script.write_text(json.dumps({"cycles": 2, "pushes": [2.1], "faults": faults}))
    assert month.main(["--faults", str(script), "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "month.json").read_text())
    assert result["hours"] == 12
    assert result["bar_1"]["holds"] is True, result["faults"]
    assert (result["fresh_share"], result["stale_hours"]) == (1.0, [])
    assert [hour for hour, _ in result["data_age"]] == list(range(12))
    [push] = result["pushes"]
    assert (push["within_two_cycles"], push["in_production_after_hours"]) == (True, 5.38)
    assert result["releases"] == result["record_issues"] == 3, "-6, 2 (v0.1.0), 6 (v0.1.1)"
    gh, registry, hub, cache, asleep = result["faults"]
    assert [hit["run"][:21] for hit in gh["struck"]] == ["schedule at hour 0.38"] * 3
    assert "dispatch at hour 0.48" in {r["run"][:21] for r in result["runs"]}, "the 4th try"
    assert {hit["run"][:21] for hit in registry["struck"]} == {"dispatch at hour 0.48"}
    assert registry["healed_by"].startswith("dispatch at hour 2.2")
    assert hub["struck"][0]["run"].startswith("push at hour 2.1")
    [pushed] = [r["jobs"] for r in result["runs"] if r["run"].startswith("push at hour 2.1")]
    assert (pushed["test"], "tag" in pushed, pushed["dispatch"]) == ("failure", False, "success")
    assert hub["healed_by"].startswith("dispatch at hour 6.48"), "the push, tagged, released"
    assert cache["healed_by"].startswith("retried within its own run (dispatch at hour 6.48")
    assert asleep["healed_by"].startswith("woken within its own run (dispatch at hour 6.48")
    assert result["issues"]["opened"] == 0, "a cold start of 50 s is no news"
    assert (tmp_path / "month.html").stat().st_size > 100_000, "the plot, plotly.js inside"
    assert summary(result) in capsys.readouterr().out


def fault(ok: bool | None, **more) -> dict:
    return {"kind": "gh-503", "hour": 3, "ok": ok, "needs_a_person_unmarked": False, **more}


@pytest.mark.parametrize(
    ("faults", "fails"),
    [
        ([fault(True), fault(None)], "every_fault_struck"),
        ([fault(True, advises_starting_anew="a run")], "none_advises_starting_anew"),
        ([fault(False)], "every_fault_healed_or_said"),
    ],
    ids=["a fault that never struck", "advice to start anew", "neither healed nor said"],
)
def test_the_bar_fails_on_a_fault_that_proves_nothing_or_loses_the_record(faults, fails):
    """Issue 93: a fault that never struck proves nothing; advice to start the track record
    anew (which loses it) fails the bar even where the fault was said."""
    holds = bar(1.0, [], faults, record_equals_releases=True)
    assert holds["holds"] is False
    assert [part for part, ok in holds.items() if not ok] == [fails, "holds"]
    assert bar(1.0, [], [fault(True)], record_equals_releases=True)["holds"] is True
    # Issue 112: a release run that failed while the owner's run that started it stayed green.
    unheard = bar(1.0, [], [fault(True)], True, [["dispatch at hour 6.48", "schedule", False]])
    assert [part for part, ok in unheard.items() if not ok] == [
        "owners_run_red_when_its_release_failed",
        "holds",
    ]


@pytest.mark.parametrize(
    ("kind", "text", "said"),
    [
        ("retention-refusal", "give this repository the role Admin in the package", True),
        ("retention-refusal", "the Administration permission is missing", False),
        ("gh-503", "Re-run the failed jobs", True),
        ("gh-503", "pre-running", False),
    ],
)
def test_a_topics_word_is_matched_as_a_word(kind, text, said):
    words = said_words(None, Fault(kind, 3, KINDS[kind][0], 1, {}), None)  # type: ignore[arg-type]
    assert mentions(text, words) is said


@pytest.mark.slow  # the registry's stand-in
def test_a_real_months_exchanges_hold_every_pair_the_release_trains(tmp_path):
    """Issue 105: BUILD=real trains the setting the release ships, `top:N` (top:1): BTC/USD
    (hourly) and ETH/USD (daily) from Alpaca, each asked at its own interval as the build asks
    it, and Binance's first against USDT, each with bars to fit."""
    world = World()
    exchanges = Exchanges(world, world.start + 24 * HOUR, tmp_path)
    world.stop()
    wanted = pairs_setting(PAIRS)
    assert wanted.top == 1
    assert {pair.interval for pair in wanted.named} == {"1h", "1d"}
    for pair in wanted.named:
        timeframe = {"1h": "1Hour", "1d": "1Day"}[pair.interval]
        asked = {"symbols": pair.alpaca_symbol, "timeframe": timeframe}
        asked |= {"start": "1900-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}
        status, answer = exchanges._bars("alpaca", "/v1beta3/crypto/us/bars", asked, "", 0.0)
        assert status == 200, answer
        assert answer["bars"][pair.alpaca_symbol], pair


def test_docker_and_skopeo_stand_ins_ask_once_and_skopeo_reads_a_blobs_status(
    tmp_path, server, monkeypatch
):
    """Issue 93: as the real tools, docker and skopeo try a registry request once, and skopeo
    fails on a blob answered 503, naming it, where its stand-in wrote the 503's body."""
    server.answer(503, '{"errors": [{"code": "UNAVAILABLE"}]}')
    assert month_tools.registry("u:p", server.url).get("/v2/o/n/blobs/sha256:l").status == 503
    assert len(server.requests) == 1
    index = b'{"manifests": [{"digest": "sha256:m"}]}'
    layer = b'{"layers": [{"digest": "sha256:l"}]}'
    monkeypatch.setattr(month_tools, "manifest", lambda r: index if r.endswith("i") else layer)
    monkeypatch.setattr(month_tools, "registry", lambda: month_tools.Once(server.url, ""))
    with pytest.raises(SystemExit, match="fetching blob: received unexpected HTTP status: 503"):
        month_tools.skopeo(["copy", "docker://ghcr.io/o/n@sha256:i", f"oci:{tmp_path}/oci"])
