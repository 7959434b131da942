"""The annual report for reviewers: a period's submitted and approved content as an Excel
workbook (sheets for tasks, indicators, documents and compliance, Vietnamese headers) or as
CSV (one sheet at a time, UTF-8 with BOM so Excel shows Vietnamese correctly)."""

import asyncio
import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Agency,
    Document,
    DocumentUpdate,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    Report,
    ReportingPeriod,
    Task,
    TaskUpdate,
    User,
)
from app.schemas.common import VIETNAM
from app.services.dashboard import period_compliance
from app.services.visibility import visible

SHEETS = ("tasks", "indicators", "documents", "compliance")
TITLES = {
    "tasks": "Nhiệm vụ",
    "indicators": "Chỉ tiêu",
    "documents": "Văn bản",
    "compliance": "Tình hình nộp báo cáo",
}
HEADERS = {
    "tasks": [
        "Cơ quan",
        "Mã nhiệm vụ",
        "Tên nhiệm vụ",
        "Tình trạng",
        "Tỷ lệ hoàn thành (%)",
        "Kết quả (công khai)",
        "Khó khăn, vướng mắc",
        "Nhiệm vụ tiếp theo",
        "Trạng thái báo cáo",
    ],
    "indicators": [
        "Cơ quan",
        "Mã chỉ tiêu",
        "Nội dung",
        "Giá trị",
        "Đạt (định tính)",
        "Số liệu tính đến ngày",
        "Cấp",
        "Đơn vị cấp huyện",
        "Nguồn số liệu",
        "Loại số liệu",
        "Trạng thái báo cáo",
    ],
    "documents": [
        "Cơ quan",
        "STT",
        "Tên văn bản",
        "Tình trạng",
        "Số văn bản",
        "Ngày ban hành",
        "Ghi chú",
        "Trạng thái báo cáo",
    ],
    "compliance": ["Cơ quan", "Tình hình", "Nộp lần đầu lúc"],
}
LABELS = {
    "on_time": "Đúng hạn",
    "late": "Muộn",
    "missing": "Chưa nộp",
    "not_started": "Chưa bắt đầu",
    "in_progress": "Đang thực hiện",
    "completed": "Hoàn thành",
    "suspended": "Tạm dừng",
    "drafting": "Đang soạn thảo",
    "issued": "Đã ban hành",
    "submitted": "Đã nộp",
    "approved": "Đã phê duyệt",
    "returned": "Bị trả lại",
    "self_reported": "Tự báo cáo",
    "verified": "Đã kiểm chứng",
    "measured": "Đo đếm",
    "province": "Tỉnh",
    "district": "Huyện",
    "commune": "Xã",
}


def _label(value: Any) -> Any:
    return LABELS.get(value, value) if isinstance(value, str) else value


async def rows_for(
    session: AsyncSession, period: ReportingPeriod, caller: User
) -> dict[str, list[list[Any]]]:
    """Every sheet's rows, from the reports the caller may see through `GET /reports/{id}`
    (the same rule: for those who read every agency's reports, drafts are left out)."""
    submitted = (col(Report.period_id) == period.id) & visible(caller)
    tasks = await session.execute(
        select(
            col(Agency.short_name), col(Task.code), col(Task.title), TaskUpdate, col(Report.state)
        )
        .join(Report, col(Report.id) == col(TaskUpdate.report_id))
        .join(Agency, col(Agency.id) == col(Report.agency_id))
        .join(Task, col(Task.id) == col(TaskUpdate.task_id))
        .where(submitted)
        .order_by(col(Agency.sort_order), col(Task.sort_order))
    )
    district = Agency.__table__.alias("district")  # type: ignore[attr-defined]
    values = await session.execute(
        select(
            col(Agency.short_name),
            col(IndicatorTarget.code),
            col(IndicatorTarget.metric),
            IndicatorValue,
            district.c.short_name,
            col(Report.state),
        )
        .join(Report, col(Report.id) == col(IndicatorValue.report_id))
        .join(Agency, col(Agency.id) == col(Report.agency_id))
        .join(IndicatorTarget, col(IndicatorTarget.id) == col(IndicatorValue.target_id))
        .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
        .outerjoin(district, district.c.id == col(IndicatorValue.district_agency_id))
        .where(submitted)
        .order_by(col(Agency.sort_order), col(Indicator.sort_order), col(IndicatorTarget.position))
    )
    documents = await session.execute(
        select(
            col(Agency.short_name),
            col(Document.number),
            col(Document.title),
            DocumentUpdate,
            col(Report.state),
        )
        .join(Report, col(Report.id) == col(DocumentUpdate.report_id))
        .join(Agency, col(Agency.id) == col(Report.agency_id))
        .join(Document, col(Document.id) == col(DocumentUpdate.document_id))
        .where(submitted)
        .order_by(col(Agency.sort_order), col(Document.number))
    )
    compliance = await period_compliance(session, period)
    return {
        "tasks": [
            [
                a,
                code,
                title,
                _label(u.status),
                u.percent_complete,
                u.public_summary,
                u.internal_difficulties,
                u.next_steps,
                _label(state),
            ]
            for a, code, title, u, state in tasks
        ],
        "indicators": [
            [
                a,
                code,
                metric,
                float(v.value) if v.value is not None else None,
                v.achieved,
                v.as_of,
                _label(v.level),
                d,
                v.source,
                _label(v.provenance),
                _label(state),
            ]
            for a, code, metric, v, d, state in values
        ],
        "documents": [
            [
                a,
                number,
                title,
                _label(u.status),
                u.issued_number,
                u.issued_on,
                u.note,
                _label(state),
            ]
            for a, number, title, u, state in documents
        ],
        "compliance": [
            [
                c.agency.short_name,
                _label(c.status),
                c.first_submitted_at.astimezone(VIETNAM).replace(tzinfo=None)
                if c.first_submitted_at
                else None,
            ]
            for c in compliance.agencies
        ],
    }


def _xlsx(title: str, sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = Workbook()
    for default in list(workbook.worksheets):  # the empty sheet a new workbook starts with
        workbook.remove(default)
    for name in SHEETS:
        sheet = workbook.create_sheet(TITLES[name])
        sheet.append(HEADERS[name])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in sheets[name]:
            sheet.append(row)
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], headers: list[str]) -> bytes:
    """CSV in UTF-8 with a BOM, so Excel shows Vietnamese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


async def workbook(session: AsyncSession, period: ReportingPeriod, caller: User) -> bytes:
    sheets = await rows_for(session, period, caller)
    return await asyncio.to_thread(_xlsx, period.title, sheets)


async def sheet_csv(
    session: AsyncSession, period: ReportingPeriod, caller: User, sheet: str
) -> bytes:
    sheets = await rows_for(session, period, caller)
    return await asyncio.to_thread(csv_bytes, sheets[sheet], HEADERS[sheet])
