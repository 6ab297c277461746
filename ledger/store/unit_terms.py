"""The words of the unit register: a unit's kind (单位性质) and level (级次), canonical and as clerks write them.

**Kinds.** Four, as the 部门决算 tables sort units by 单位性质 and as the 三公 rules treat them:

- 行政单位 — a government organ (机关) funded as administration;
- 参照公务员法管理事业单位 (参公) — a public institution whose staff are managed like civil servants; its
  三公 spending follows the organs' rules, so it is its own group, neither 行政 nor 事业;
- 事业单位 — any other public institution (全额 / 差额拨款, 自收自支, 公益一类 / 二类 alike);
- 其他 — a body the file says is none of these (社会团体, 企业, …), stated as 其他.

A unit whose kind the register does not state has ``kind`` null: unit costs then compare it only with
the other units of its level whose kind is not stated either, never silently with a stated kind.
"""

from __future__ import annotations

import unicodedata

ADMINISTRATIVE, CIVIL_SERVICE_MANAGED, INSTITUTION, OTHER = (
    "行政单位", "参照公务员法管理事业单位", "事业单位", "其他")
KINDS_EN = {ADMINISTRATIVE: "administrative unit", CIVIL_SERVICE_MANAGED: "public institution managed as civil service",
            INSTITUTION: "public institution", OTHER: "other"}
KIND_SPELLINGS = {
    ADMINISTRATIVE: ["行政单位", "行政", "行政机关", "机关", "机关单位", "党政机关", "administrative", "administrative unit",
                     "government organ"],
    CIVIL_SERVICE_MANAGED: ["参照公务员法管理事业单位", "参照公务员法管理的事业单位", "参公", "参公单位", "参公事业单位",
                            "参公管理事业单位", "参照公务员管理事业单位", "civil-service-managed",
                            "public institution managed as civil service"],
    INSTITUTION: ["事业单位", "事业", "全额拨款事业单位", "差额拨款事业单位", "自收自支事业单位", "公益一类事业单位",
                  "公益二类事业单位", "public institution", "institution"],
    OTHER: ["其他", "其它", "其他单位", "other"],
}
LEVELS_EN = {"省级": "provincial", "市级": "city", "区县级": "district/county", "乡镇级": "township"}


def _key(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).strip().lower()
    return " ".join(s.replace("_", " ").split())


_KINDS = {_key(spelling): kind for kind, spellings in KIND_SPELLINGS.items() for spelling in spellings}


def kind_of(text: str | None) -> str | None:
    """The canonical kind a cell names (``"参公"`` → ``参照公务员法管理事业单位``); None when it names none."""
    return None if text is None else _KINDS.get(_key(text))


def group_name(level: str | None, kind: str | None, lang: str) -> str:
    """A peer group's name: ``市级·行政单位`` / ``city · administrative unit``; unstated parts say so."""
    if lang == "en":
        return (f"{LEVELS_EN.get(level, level) if level else 'level not stated'} · "
                f"{KINDS_EN.get(kind, kind) if kind else 'kind not stated'}")
    return f"{level or '未定级次'}·{kind or '未填单位性质'}"
