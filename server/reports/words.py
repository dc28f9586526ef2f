"""The words of the exported reports (column headings, sheet titles) in each page language.

The zh-TW entries are the reviewed s2twp drafts of the zh-CN ones (``scripts/zh_tw.py``;
tests/unit/test_export.py checks they stay so), like the pages' table in i18n.js.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["zh-CN", "en", "zh-TW"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en", "zh-TW")

#: key → (zh-CN, en, zh-TW)
_WORDS: dict[str, tuple[str, str, str]] = {
    # the summary's group keys
    "service": ("业务", "Service", "業務"),
    "counter": ("窗口", "Counter", "櫃檯"),
    "teller": ("柜员", "Teller", "櫃員"),
    "hour": ("时段", "Hour", "時段"),
    "day": ("日期", "Day", "日期"),
    "priority": ("类别", "Priority", "類別"),
    "total": ("合计", "Total", "合計"),
    # the summary's figures
    "issued": ("取号", "Issued", "取號"),
    "served": ("办结", "Served", "辦結"),
    "no_show": ("过号", "No-show", "過號"),
    "cancelled": ("取消", "Cancelled", "取消"),
    "expired": ("作废", "Expired", "作廢"),
    "wait_avg_s": ("平均等候", "Wait avg", "平均等候"),
    "wait_median_s": ("等候中位数", "Wait median", "等候中位數"),
    "wait_p90_s": ("等候P90", "Wait P90", "等候P90"),
    "wait_max_s": ("最长等候", "Wait max", "最長等候"),
    "service_avg_s": ("平均办理", "Service avg", "平均辦理"),
    "service_median_s": ("办理中位数", "Service median", "辦理中位數"),
    "service_p90_s": ("办理P90", "Service P90", "辦理P90"),
    "sla_share": ("达标率", "SLA", "達標率"),
    "green_wait_avg_s": ("绿色通道等候", "Green wait avg", "綠色通道等候"),
    "normal_wait_avg_s": ("普通等候", "Normal wait avg", "普通等候"),
    "utilisation": ("利用率", "Utilisation", "利用率"),
    "rating_mean": ("满意度", "Rating", "滿意度"),
    "rating_share_4_5": ("好评率", "Rated 4–5", "好評率"),
    "rating_response_rate": ("评价率", "Response rate", "評價率"),
    "estimate_mae_s": ("预估误差", "Estimate error", "預估誤差"),
    # the teller scorecard
    "service_vs_target": ("比目标", "vs target", "比目標"),
    "target_service_avg_s": ("目标办理", "Target service", "目標辦理"),
    "ratings": ("评价数", "Ratings", "評價數"),
    "no_show_share": ("过号率", "No-show share", "過號率"),
    "upheld_complaints": ("投诉成立", "Upheld complaints", "投訴成立"),
    # staffing advice
    "weekday": ("星期", "Weekday", "星期"),
    "arrivals_per_hour": ("到达/小时", "Arrivals per hour", "到達/小時"),
    "aht_s": ("平均办理", "Handling time", "平均辦理"),
    "target_wait_s": ("目标等候", "Target wait", "目標等候"),
    "counters_needed": ("需要窗口", "Counters needed", "需要櫃檯"),
    "service_level_needed": ("需要时达标率", "SLA when staffed", "需要時達標率"),
    "counters_open": ("实际开放", "Counters open", "實際開放"),
    "service_level_open": ("开放时达标率", "SLA with open", "開放時達標率"),
    # the staff assessment
    "username": ("工号", "Staff number", "工號"),
    "name": ("姓名", "Name", "姓名"),
    "score": ("得分", "Score", "得分"),
    "band": ("等级", "Band", "等級"),
    "attitude": ("服务态度", "Attitude", "服務態度"),
    "efficiency": ("服务效率", "Efficiency", "服務效率"),
    "complaints": ("投诉", "Complaints", "投訴"),
    "inspection": ("检查", "Inspection", "檢查"),
    "finished": ("办结", "Finished", "辦結"),
    "coverage": ("评价覆盖率", "Rating coverage", "評價覆蓋率"),
    "idle_queue_min": ("空闲有排队(分钟)", "Idle with queue (min)", "空閒有排隊(分鐘)"),
    "findings": ("检查问题", "Inspection findings", "檢查問題"),
    "excellent": ("优秀", "Excellent", "優秀"),
    "good": ("良好", "Good", "良好"),
    "fair": ("合格", "Fair", "合格"),
    "poor": ("待改进", "Needs improvement", "待改進"),
    # the breach report
    "breaches": ("未达标次数", "Breaches", "未達標次數"),
    "severe": ("严重", "Severe", "嚴重"),
    "escalated": ("已上报", "Escalated", "已上報"),
    "minutes_in_breach": ("未达标分钟", "Minutes in breach", "未達標分鐘"),
    "acknowledged": ("已确认", "Acknowledged", "已確認"),
    "minutes_to_acknowledge": ("确认用时(分钟)", "Minutes to acknowledge", "確認用時(分鐘)"),
    # headings
    "branch": ("网点", "Branch", "分行"),
    "period": ("期间", "Period", "期間"),
    "timezone": ("时区", "Time zone", "時區"),
    "mon": ("周一", "Mon", "週一"),
    "tue": ("周二", "Tue", "週二"),
    "wed": ("周三", "Wed", "週三"),
    "thu": ("周四", "Thu", "週四"),
    "fri": ("周五", "Fri", "週五"),
    "sat": ("周六", "Sat", "週六"),
    "sun": ("周日", "Sun", "週日"),
}


def word(key: str, lang: Language) -> str:
    """``key`` in ``lang`` (the key itself for one the table lacks)."""
    entry = _WORDS.get(key)
    return entry[LANGUAGES.index(lang)] if entry else key


def table(lang: Language) -> dict[str, str]:
    return {key: word(key, lang) for key in _WORDS}
