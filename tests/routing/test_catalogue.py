"""The dispatch catalogue: parsing with faults named by line, fallbacks, versions kept with who and when."""

from __future__ import annotations

import httpx
import pytest

from hotline.auth.principal import Role
from hotline.kit.db import Database
from hotline.routing.catalogue import (
    Catalogue,
    InvalidCatalogue,
    default_catalogue,
    directory_codes,
    parse_csv,
    split_weight,
)
from hotline.routing.engine import Router
from tests.support.auth import headers_for

UNITS, AREAS = directory_codes()
HEADER = "rule,topic,area,type,lead,co,keywords,note\n"


def _cat(csv_text: str, version: int = 7) -> Catalogue:
    return Catalogue(version, parse_csv(HEADER + csv_text, UNITS, AREAS))


@pytest.mark.parametrize(
    ("body", "line", "why"),
    [
        (HEADER + "ok,环境保护,*,*,env,,噪音,\nbad,环境保护,*,*,env-bureau,,污染,\n", "line 3", "unknown unit code 'env-bureau'"),
        (HEADER + "bad,天文,*,*,env,,噪音,\n", "line 2", "unknown topic '天文'"),
        (HEADER + "bad,环境保护,*,*,env,town-atlantis,噪音,\n", "line 2", "unknown unit code 'town-atlantis'"),
        (HEADER + "bad,环境保护,town-nowhere,*,env,,噪音,\n", "line 2", "unknown area 'town-nowhere'"),
        (HEADER + "bad,环境保护,*,grumble,env,,噪音,\n", "line 2", "unknown type 'grumble'"),
        (HEADER + "a,环境保护,*,*,env,,噪音,\na,环境保护,*,*,env,,污染,\n", "line 3", "already used on line 2"),
        ("rule,topic,area,type,lead,keywords\nx,环境保护,*,*,env,噪音\n", "line 1", "missing column co"),
        (HEADER + "x,环境保护,*,*,env,,噪音,,extra\n", "line 2", "more fields"),
        (HEADER + "x,环境保护,*,*,,,噪音,\n", "line 2", "no lead unit"),
        (HEADER + "x,环境保护,*,*,env,,噪音^loud,\n", "line 2", "write a weight as"),
    ],
)
def test_bad_catalogue_names_the_line_at_fault(body: str, line: str, why: str) -> None:
    with pytest.raises(InvalidCatalogue) as exc:
        parse_csv(body, UNITS, AREAS)
    assert exc.value.detail.startswith(line + ":")
    assert why in exc.value.detail


def test_the_shipped_catalogue_covers_the_seven_topics_and_the_old_keyword_table() -> None:
    import json
    from importlib import resources

    cat = default_catalogue()
    assert cat.version == 0
    topics = {r.topic for r in cat.rows}
    assert {"城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输"} <= topics
    old = json.loads(resources.files("hotline.routing").joinpath("data/keywords.json").read_text("utf-8"))
    for unit, words in old.items():
        for w in words:
            assert any(w in {split_weight(k)[0] for k in r.keywords} and unit in (r.lead, *r.co)
                       for r in cat.rows), (unit, w)


def test_catalogue_rule_dispatches_lead_and_co_handling_units() -> None:
    d = Router(_cat("noise,环境保护,*,*,env,@town|police,噪音|扰民,\n"))(["塘厦镇工地夜间施工噪音扰民"])[0]
    assert d.department_code == "env"
    assert d.co_department_codes == ["town-tangxia", "police"]
    assert d.rule == "catalogue:noise" and d.catalogue_version == 7


def test_a_weak_keyword_yields_to_a_sharp_one() -> None:
    cat = _cat("estate,城乡建设,*,*,housing,,小区^0.5|物业,\nlamp,城乡建设,*,*,urban,,路灯,\n")
    d = Router(cat)(["小区门口的路灯坏了"])[0]
    assert d.department_code == "urban"
    assert [s["department_code"] for s in d.suggestions] == ["urban", "housing"]


def test_area_and_type_rows_win_over_general_ones() -> None:
    cat = _cat("lamp,城乡建设,*,*,urban,,路灯,\n"
               "lamp-ssh,城乡建设,park-songshanhu,*,park-songshanhu,urban,路灯,\n"
               "lamp-suggest,城乡建设,*,suggestion,housing,,路灯,\n")
    r = Router(cat)
    assert r(["松山湖园区的路灯坏了"])[0].department_code == "park-songshanhu"
    assert r(["塘厦镇的路灯坏了"])[0].department_code == "urban"
    assert r(["建议塘厦镇多装几盏路灯"])[0].department_code == "housing"


def test_fallback_unit_then_town_then_manual_queue() -> None:
    r = Router(_cat("wages,劳动和社会保障,*,*,hrss,,欠薪|工资,\n"))
    unit, town, manual = r(["老板欠薪三个月不给", "长安镇有个问题想反映一下", "你好，我想反映一个问题"])
    assert (unit.department_code, unit.rule) == ("hrss", "catalogue:wages")
    assert (town.department_code, town.rule) == ("town-changan", "fallback:town")
    assert (manual.department_code, manual.rule) == (None, "fallback:manual")
    assert manual.confidence == 0.0


def test_town_lead_without_a_known_place_cannot_dispatch() -> None:
    r = Router(_cat("build,城乡建设,*,*,@town,urban,违建,\n"))
    placed, unplaced = r(["塘厦镇有人违建", "我们村有人违建"])
    assert placed.department_code == "town-tangxia" and placed.co_department_codes == ["urban"]
    assert unplaced.department_code is None and unplaced.rule == "fallback:manual"


async def test_catalogue_versions_are_kept_with_who_and_when(embedded_client: httpx.AsyncClient, db: Database,
                                                             pg_url: str) -> None:
    admin = await headers_for(db, Role.ADMIN, name="catalogue-admin")
    first = await embedded_client.get("/api/v1/admin/catalogue", headers=admin)
    assert first.status_code == 200
    assert first.json()["current"]["version"] == 0 and first.json()["versions"] == []

    r = await embedded_client.put("/api/v1/admin/catalogue", params={"note": "noise to env only"},
                                  content=HEADER + "noise,环境保护,*,*,env,,噪音,\n",
                                  headers={**admin, "content-type": "text/csv"})
    assert r.status_code == 200, r.text
    rows = [{"rule": "noise", "topic": "环境保护", "area": "*", "type": "*", "lead": "env", "co": ["@town"],
             "keywords": ["噪音", "扰民"]}]
    r = await embedded_client.put("/api/v1/admin/catalogue", json={"rows": rows, "note": "town co-handles"},
                                  headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["current"]["version"] == 2
    assert [(v["version"], v["active"], v["created_by"], v["note"]) for v in body["versions"]] == [
        (2, True, "admin:catalogue-admin", "town co-handles"),
        (1, False, "admin:catalogue-admin", "noise to env only"),
    ]
    assert all(v["created_at"] for v in body["versions"])

    restored = await embedded_client.post("/api/v1/admin/catalogue/versions/1/restore", headers=admin)
    assert restored.json()["current"]["version"] == 3
    assert restored.json()["current"]["rows"][0]["co"] == []
    assert restored.json()["current"]["note"] == "restored version 1"


async def test_bad_catalogue_upload_is_422_naming_the_line(embedded_client: httpx.AsyncClient, db: Database) -> None:
    admin = await headers_for(db, Role.ADMIN)
    r = await embedded_client.put("/api/v1/admin/catalogue",
                                  content=HEADER + "noise,环境保护,*,*,env,,噪音,\nx,环境保护,*,*,nosuch,,污染,\n",
                                  headers={**admin, "content-type": "text/csv"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == "line 3: unknown unit code 'nosuch'"
    bad_json = await embedded_client.put("/api/v1/admin/catalogue", json=[{"rule": "x", "topic": "环境保护"}],
                                         headers=admin)
    assert bad_json.status_code == 422 and bad_json.json()["detail"].startswith("row 1: missing column")
    # Nothing was saved.
    assert (await embedded_client.get("/api/v1/admin/catalogue", headers=admin)).json()["versions"] == []


async def test_only_admins_edit_the_catalogue(embedded_client: httpx.AsyncClient, db: Database) -> None:
    anonymous = {"Authorization": ""}
    assert (await embedded_client.get("/api/v1/admin/catalogue", headers=anonymous)).status_code == 401
    agent = await headers_for(db, Role.AGENT)
    r = await embedded_client.put("/api/v1/admin/catalogue", content=HEADER + "n,环境保护,*,*,env,,噪音,\n",
                                  headers={**agent, "content-type": "text/csv"})
    assert r.status_code == 403


async def test_catalogue_cli_loads_and_shows_versions(db: Database, pg_url: str, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import argparse
    import asyncio

    from hotline.routing.dispatch_cli import catalogue
    from tests.conftest import settings_for

    good = tmp_path / "catalogue.csv"
    good.write_text(HEADER + "noise,环境保护,*,*,env,@town,噪音|扰民,\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "noise,环境保护,*,*,env,,噪音,\nx,卫生计生,*,*,hospital-7,,医院,\n", encoding="utf-8")
    settings = settings_for(pg_url)

    def run(**kw: object) -> int:
        ns = argparse.Namespace(**{"file": None, "note": None, "by": "ops", **kw})
        return catalogue(ns, settings)

    assert await asyncio.to_thread(run, action="load", file=bad) == 1
    assert "line 3: unknown unit code 'hospital-7'" in capsys.readouterr().err
    assert await asyncio.to_thread(run, action="load", file=good, note="from the CLI") == 0
    assert "catalogue version 1 is active (1 rules)" in capsys.readouterr().out
    assert await asyncio.to_thread(run, action="show") == 0
    shown = capsys.readouterr().out
    assert shown.startswith("# dispatch catalogue version 1 (database)")
    assert "noise,环境保护,*,*,env,@town,噪音|扰民," in shown
