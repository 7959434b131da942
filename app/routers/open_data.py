"""Open data for the provincial portal: approved figures only, CSV or JSON."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from app.core.json import dumps
from app.core.openapi import problems
from app.deps import CurrentPlan, SessionDep, SettingsDep, Today
from app.schemas.common import VIETNAM
from app.services import open_data as service
from app.services.export import csv_bytes

router = APIRouter(prefix="/open-data", tags=["open-data"])

FileName = Literal[
    "tasks.csv",
    "tasks.json",
    "indicators.csv",
    "indicators.json",
    "progress.csv",
    "progress.json",
    "documents.csv",
    "documents.json",
]


class OpenDataFile(BaseModel):
    dataset: str = Field(examples=["tasks"])
    plan: str = Field(
        description="The plan the rows belong to (`plan=`).", examples=["2358/KH-UBND"]
    )
    licence: str = Field(examples=["CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"])
    source: str = Field(examples=["UBND tỉnh Hải Dương, Kế hoạch 2358/KH-UBND"])
    generated_at: str = Field(
        description="ISO 8601 at +07:00.", examples=["2026-11-15T08:00:00+07:00"]
    )
    columns: list[str] = Field(examples=[service.COLUMNS["tasks"]])
    items: list[dict[str, Any]] = Field(
        examples=[
            [
                {
                    "code": "A.V.3",
                    "title": "Triển khai hệ thống phòng, chống mã độc tập trung",
                    "lead": "STTTT",
                    "coordinating": "",
                    "start_year": 2021,
                    "end_year": 2025,
                    "recurrence": "annual",
                    "derived_status": "completed",
                    "status": "completed",
                    "percent_complete": 100,
                    "public_summary": "Đã kết nối 100% máy trạm của cơ quan nhà nước.",
                    "as_of": "2025-11-15",
                }
            ]
        ]
    )


DESCRIPTION = """Datasets: `tasks` (each task with its lead, years, derived status and latest
approved progress), `indicators` (each target with its attainment and latest approved value;
a target whose level had ended by today, the district level from 1 July 2025, gives what
became of it in `level_outcome` and, when its attainment is `not_applicable`, why in
`attainment_reason_vi`/`_en`),
`progress` (every approved task progress, oldest first), `documents` (each document with
its latest approved status). Only approved figures are published.

JSON carries `licence`, `source` and `generated_at` with the rows. CSV is UTF-8 with a BOM
(so Excel shows Vietnamese correctly), one header row with the JSON field names; its licence
and source are those of the JSON (`DXPLAN_OPEN_DATA_LICENCE`, `DXPLAN_OPEN_DATA_SOURCE`;
by default CC BY 4.0, UBND tỉnh Hải Dương) and are also sent as `X-Licence` and `X-Source`
headers, with the generation time as `X-Generated-At` (ISO 8601 at +07:00, the JSON's
`generated_at`). HTTP header values are Latin-1: a value that is not plain ASCII is sent as
an RFC 8187 ext-value, `UTF-8''` then the UTF-8 bytes percent-encoded
(`UTF-8''UBND%20t%E1%BB%89nh…`; in Python
`urllib.parse.unquote(value.removeprefix("UTF-8''"))`). Times in the rows (`approved_at`)
are ISO 8601 at +07:00 too.

Every file has a strong `ETag` and `Cache-Control`, answers 304 to `If-None-Match`, and is
gzip-compressed for clients that accept it, CSV as JSON."""


def header_text(value: str) -> str:
    """A header value: plain printable ASCII as is, anything else as an RFC 8187 ext-value."""
    if value.isascii() and value.isprintable() and not value.startswith("UTF-8''"):
        return value
    return "UTF-8''" + quote(value, safe="")


@router.get(
    "/{file}",
    operation_id="open-data-get",
    summary="An open-data file",
    description=DESCRIPTION,
    response_class=Response,
    responses={
        200: {
            "model": OpenDataFile,
            "description": "The file: JSON, or CSV for a .csv name.",
            "headers": {
                "X-Licence": {
                    "description": "`licence`; RFC 8187 ext-value when not ASCII.",
                    "schema": {"type": "string"},
                },
                "X-Source": {
                    "description": "`source` (DXPLAN_OPEN_DATA_SOURCE); RFC 8187 ext-value "
                    "(`UTF-8''` and percent-encoded UTF-8) when not ASCII.",
                    "schema": {"type": "string"},
                },
                "X-Generated-At": {
                    "description": "When the file was generated, ISO 8601 at +07:00.",
                    "schema": {"type": "string", "format": "date-time"},
                },
                "X-Plan": {
                    "description": "`plan`, the code of the plan the rows belong to; RFC 8187 "
                    "ext-value when not ASCII.",
                    "schema": {"type": "string"},
                },
            },
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": ",".join(service.COLUMNS["tasks"])
                    + '\r\nA.V.3,"Triển khai hệ thống phòng, chống mã độc tập trung",STTTT,,'
                    "2021,2025,annual,completed,completed,100,"
                    "Đã kết nối 100% máy trạm của cơ quan nhà nước.,2025-11-15\r\n",
                }
            },
        },
        **problems(422),
    },
)
async def open_data_file(
    session: SessionDep,
    plan: CurrentPlan,
    settings: SettingsDep,
    today: Today,
    file: Annotated[FileName, Path(examples=["tasks.json"])],
) -> Response:
    dataset, _, fmt = file.partition(".")
    rows = await service.rows(session, plan, dataset, today)
    columns = service.COLUMNS[dataset]
    generated_at = datetime.now(UTC).astimezone(VIETNAM).isoformat(timespec="seconds")
    headers = {
        "X-Licence": header_text(settings.open_data_licence),
        "X-Source": header_text(settings.open_data_source),
        "X-Generated-At": generated_at,
        "X-Plan": header_text(plan.code),
        "Content-Disposition": f'inline; filename="{file}"',
    }
    if fmt == "csv":
        body = csv_bytes([[service.plain(r[c]) for c in columns] for r in rows], columns)
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    document = OpenDataFile(
        dataset=dataset,
        plan=plan.code,
        licence=settings.open_data_licence,
        source=settings.open_data_source,
        generated_at=generated_at,
        columns=columns,
        items=[{c: service.plain(r[c]) for c in columns} for r in rows],
    )
    return Response(dumps(document.model_dump()), media_type="application/json", headers=headers)
