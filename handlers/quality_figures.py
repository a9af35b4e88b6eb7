"""P3 monthly quality figures (售后质量数据): the records After-sales collects each month, the lines an
Excel export gives, and the comparison of a month's figures with its trailing months. Plain functions
over plain values, so the rules can be read and tested without a running process."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.handler_api import Base, UtcDateTime
from handlers.numbering import BEIJING

# Coded values with their (Chinese, English) names; the paste may use either the code or a name.
SOURCES = {"service_system": ("服务系统", "Service system"), "hotline": ("400/800热线", "400/800 hotline"),
           "repair_station": ("维修站", "Repair station"), "customer": ("客户反馈", "Customer feedback")}
CATEGORIES = {"board_repair": ("板级维修", "Board repair"), "unit_repair": ("整机维修", "Whole-unit repair"),
              "obf": ("开箱不良", "Out-of-box failure (OBF)"), "hotline_data": ("热线数据", "Hotline data")}
STATUSES = {"accepted": ("无疑问", "Accepted"), "doubtful": ("待核实", "Doubtful"), "verified": ("核实属实", "Verified"),
            "corrected": ("核实更正", "Corrected"), "dropped": ("核实剔除", "Dropped")}
VERIFICATION_RESULTS = {"verified": ("属实", "verified", "确认"), "corrected": ("更正", "corrected", "修正"),
                        "dropped": ("剔除", "dropped", "删除")}
_SOURCE_ALIASES = {"客户": "customer", "维修服务站": "repair_station", "售后维修站": "repair_station",
                   "售后服务系统": "service_system", "热线": "hotline", "400热线": "hotline", "800热线": "hotline", "400/800": "hotline"}
_CATEGORY_ALIASES = {"开箱不良(obf)": "obf", "开箱不良（obf）": "obf", "板级": "board_repair",
                     "电路板维修": "board_repair", "电路板": "board_repair", "400/800数据": "hotline_data", "整机": "unit_repair"}
HEADER = ("来源", "类别", "型号", "故障", "数量")
UNKNOWN_MODEL = "（未知型号）"


class QualityFigure(Base):
    """One count of the month: how many repairs/calls of one model and fault one source reported."""

    __tablename__ = "quality_figures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # 2026-11
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(120))
    fault: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)
    reported_count: Mapped[int] = mapped_column(Integer)  # as collected, before any correction
    status: Mapped[str] = mapped_column(String(20), default="accepted")
    doubt_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(120))
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(120))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def verified(self) -> bool:
        """Counted in the month's figures: never doubtful, or confirmed/corrected with the station/customer."""
        return self.status in ("accepted", "verified", "corrected")

    def line(self) -> str:
        return (f"#{self.id} {SOURCES[self.source][0]} {CATEGORIES[self.category][0]} "
                f"{self.model or UNKNOWN_MODEL} {self.fault} {self.count}")


class QualityAnomaly(Base):
    """An abnormal fluctuation of one model/fault/category figure against its trailing months."""

    __tablename__ = "quality_anomalies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(120))
    fault: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)
    trailing_counts: Mapped[list[int]] = mapped_column(JSON, default=list)
    trailing_mean: Mapped[float] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(20))  # spike | first_appearance
    reason: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)


# -- months ------------------------------------------------------------------------------------------
def previous_month(moment: datetime) -> str:
    """The calendar month before `moment` in Beijing time (the month a run on the 1st analyses)."""
    local = moment.astimezone(BEIJING)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def months_before(month: str, count: int) -> list[str]:
    """The `count` calendar months before `month`, oldest first."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count, index)]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first and next month's first instant (Beijing time), in UTC."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=BEIJING)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=BEIJING)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


# -- the pasted lines ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PastedFigure:
    line_no: int
    source: str
    category: str
    model: str
    fault: str
    count: int


def _code(value: str, names: dict[str, tuple[str, str]], aliases: dict[str, str]) -> str | None:
    key = value.strip().lower()
    for code, (chinese, english) in names.items():
        if key in (code, chinese.lower(), english.lower()):
            return code
    return aliases.get(key)


def _fields(line: str) -> list[str]:
    for separator in ("\t", "，", ","):  # an Excel copy gives tabs; typed lines commas
        if separator in line:
            return [part.strip() for part in line.split(separator)]
    return [line.strip()]


def parse_figures(text: str) -> tuple[list[PastedFigure], list[str]]:
    """The figures of the pasted lines `来源,类别,型号,故障,数量`, and an error per malformed line."""
    figures: list[PastedFigure] = []
    errors: list[str] = []
    for line_no, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = _fields(raw)
        if tuple(parts) == HEADER:
            continue
        if len(parts) != len(HEADER):
            errors.append(f"第{line_no}行：应有5项（来源,类别,型号,故障,数量），实际{len(parts)}项：{raw.strip()}")
            continue
        source_text, category_text, model, fault, count_text = parts
        source = _code(source_text, SOURCES, _SOURCE_ALIASES)
        category = _code(category_text, CATEGORIES, _CATEGORY_ALIASES)
        problems = []
        if source is None:
            problems.append(f"来源“{source_text}”应为{'/'.join(n for n, _ in SOURCES.values())}")
        if category is None:
            problems.append(f"类别“{category_text}”应为{'/'.join(n for n, _ in CATEGORIES.values())}")
        if not fault:
            problems.append("故障不能为空")
        if not count_text.isdigit():
            problems.append(f"数量“{count_text}”应为不小于0的整数")
        if problems:
            errors.append(f"第{line_no}行：{'；'.join(problems)}")
            continue
        figures.append(PastedFigure(line_no, source, category, model, fault, int(count_text)))
    if not figures and not errors:
        errors.append("没有数据：请粘贴至少一行（来源,类别,型号,故障,数量）")
    return figures, errors


@dataclass(frozen=True)
class Decision:
    figure_id: int
    result: str
    count: int | None
    note: str


def parse_decisions(text: str, doubtful: set[int]) -> tuple[list[Decision], list[str]]:
    """The specialist's results `编号,结果,更正数量,说明` for the doubtful records; every one needs one."""
    decisions: dict[int, Decision] = {}
    errors: list[str] = []
    for line_no, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = _fields(raw) + ["", "", ""]
        number, result_text, count_text, note = parts[0].lstrip("#"), parts[1], parts[2], "，".join(
            p for p in parts[3:] if p)
        result = next((code for code, names in VERIFICATION_RESULTS.items() if result_text.lower() in names), None)
        problems = []
        if not number.isdigit() or int(number) not in doubtful:
            problems.append(f"编号“{parts[0]}”不是待核实记录")
        if result is None:
            problems.append(f"结果“{result_text}”应为属实/更正/剔除")
        if result == "corrected" and not count_text.isdigit():
            problems.append("更正须填写更正后的数量（不小于0的整数）")
        if problems:
            errors.append(f"第{line_no}行：{'；'.join(problems)}")
            continue
        count = int(count_text) if result == "corrected" else None
        decisions[int(number)] = Decision(int(number), result, count, note)
    missing = sorted(doubtful - set(decisions))
    if missing and not errors:
        errors.append(f"以下记录未给出核实结果：{'、'.join(f'#{i}' for i in missing)}")
    return list(decisions.values()), errors


# -- abnormal fluctuation ------------------------------------------------------------------------------
FigureKey = tuple[str, str, str]  # category, model, fault


@dataclass(frozen=True)
class Fluctuation:
    key: FigureKey
    count: int
    trailing: list[int]
    mean: float
    rule: str
    reason: str


def find_fluctuations(current: dict[FigureKey, int], trailing: list[dict[FigureKey, int]], ratio: float,
                      min_count: int) -> list[Fluctuation]:
    """Abnormal when the month's count exceeds the trailing mean × ratio and reaches min_count, or when a
    figure first appears with at least min_count. Without any trailing figures there is no baseline."""
    if not any(trailing):
        return []
    found = []
    for key, count in sorted(current.items()):
        history = [month.get(key, 0) for month in trailing]
        mean = sum(history) / len(history)
        if count < min_count:
            continue
        if not any(history):
            found.append(Fluctuation(key, count, history, 0.0, "first_appearance",
                                     f"首次出现：{count}件 ≥ {min_count}件"))
        elif count > mean * ratio:
            found.append(Fluctuation(key, count, history, round(mean, 2), "spike",
                                     f"{count}件 > 前{len(history)}个月均值{mean:.1f}×{ratio:g}={mean * ratio:.1f}，"
                                     f"且 ≥ {min_count}件"))
    return found
