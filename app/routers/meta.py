"""Every enum value of the API with its Vietnamese and English label, so the app shows
the same words as the API."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

router = APIRouter(prefix="/meta", tags=["meta"])


class Label(BaseModel):
    value: str
    vi: str
    en: str


class Enums(BaseModel):
    enums: dict[str, list[Label]] = Field(
        description="Enum name → its values, in order. `period_status` is the deprecated "
        "old name of `period_state` (the same values). Most names say what they label "
        "(`role`, `task_status`, `report_state` …); the others: `agency_role` labels an "
        "agency's role on an item (`AgencyItemLink.role`, `SectionAgencyRead.role`, "
        "`AssignmentItem.role`), `object_type` the kinds of search hits and sync changes "
        "(`SearchHit.type`, `ChangeRead.type`), `change_op` `ChangeRead.op`, "
        "`report_item_kind` `AttachmentRead.item_kind`, `search_field` "
        "`SearchHit.matched_field`, `permission` `MeRead.permissions`. Every enum value of "
        "the contract has a label here, except media types (`AttachmentRead.content_type`).",
        examples=[
            {
                "report_state": [
                    {"value": "draft", "vi": "Bản nháp", "en": "Draft"},
                    {"value": "submitted", "vi": "Đã nộp", "en": "Submitted"},
                    {"value": "approved", "vi": "Đã phê duyệt", "en": "Approved"},
                    {"value": "returned", "vi": "Bị trả lại", "en": "Returned"},
                ],
                "compliance": [
                    {"value": "on_time", "vi": "Đúng hạn", "en": "On time"},
                    {"value": "late", "vi": "Muộn", "en": "Late"},
                    {"value": "missing", "vi": "Chưa nộp", "en": "Missing"},
                ],
            }
        ],
    )


_PERIOD_STATES = [
    ("planned", "Chưa mở", "Planned"),
    ("open", "Đang mở", "Open"),
    ("closed", "Đã đóng", "Closed"),
]
# A report item's kind, in the change feed (`task_update`) and in attachments (`task-updates`).
_TASK_UPDATE = ("Tiến độ nhiệm vụ", "Task progress")
_INDICATOR_VALUE = ("Số liệu chỉ tiêu", "Indicator value")
_DOCUMENT_UPDATE = ("Tình hình xây dựng văn bản", "Document progress")
ENUMS: dict[str, list[tuple[str, str, str]]] = {
    "role": [
        ("officer", "Cán bộ", "Officer"),
        ("agency_lead", "Lãnh đạo đơn vị", "Agency lead"),
        ("reviewer", "Chuyên viên thẩm định (Sở TTTT)", "Reviewer (Sở TTTT)"),
        ("observer", "Lãnh đạo tỉnh (theo dõi)", "Observer"),
        ("admin", "Quản trị hệ thống", "Administrator"),
    ],
    "agency_kind": [
        ("province", "UBND tỉnh", "Provincial committee"),
        ("department", "Sở, ngành", "Department"),
        ("office", "Văn phòng", "Office"),
        ("board", "Ban", "Board"),
        ("central_branch", "Cơ quan ngành dọc", "Central agency branch"),
        ("armed_forces", "Lực lượng vũ trang", "Armed forces"),
        ("press", "Báo chí, truyền thông", "Press"),
        ("party", "Cơ quan Đảng", "Party"),
        ("district", "Đơn vị cấp huyện", "District-level unit"),
        ("group", "Nhóm cơ quan", "Group of agencies"),
    ],
    "recurrence": [("once", "Một lần", "Once"), ("annual", "Hàng năm", "Annual")],
    "task_status": [
        ("not_started", "Chưa bắt đầu", "Not started"),
        ("in_progress", "Đang thực hiện", "In progress"),
        ("completed", "Hoàn thành", "Completed"),
        ("suspended", "Tạm dừng", "Suspended"),
    ],
    "derived_status": [
        ("completed", "Hoàn thành", "Completed"),
        ("on_track", "Đúng tiến độ", "On track"),
        ("behind", "Chậm tiến độ", "Behind"),
        ("overdue", "Quá hạn", "Overdue"),
        ("not_started", "Chưa đến hạn bắt đầu", "Not started"),
        ("no_data", "Chưa có số liệu", "No data"),
    ],
    "attainment": [
        ("met", "Đạt", "Met"),
        ("not_met", "Chưa đạt", "Not met"),
        ("no_data", "Chưa có số liệu", "No data"),
        ("not_applicable", "Không còn đánh giá", "Not applicable"),
    ],
    "level_outcome": [
        ("carried", "Có cấp tiếp nhận", "Carried by another level"),
        ("no_successor", "Không có cấp tiếp nhận", "No successor"),
        ("unknown", "Chưa xác định", "Unknown"),
    ],
    "comparator": [
        ("gte", "Tối thiểu", "At least"),
        ("gt", "Trên", "More than"),
        ("eq", "Bằng", "Exactly"),
        ("lte", "Tối đa", "At most"),
    ],
    "target_kind": [
        ("numeric", "Định lượng", "Numeric"),
        ("qualitative", "Định tính", "Qualitative"),
    ],
    "level": [
        ("province", "Cấp tỉnh", "Province"),
        ("district", "Cấp huyện", "District"),
        ("commune", "Cấp xã", "Commune"),
    ],
    "period_kind": [("annual", "Định kỳ hàng năm", "Annual"), ("ad_hoc", "Đột xuất", "Ad hoc")],
    "period_state": _PERIOD_STATES,
    "period_status": _PERIOD_STATES,  # deprecated: the old name of period_state
    "report_state": [
        ("draft", "Bản nháp", "Draft"),
        ("submitted", "Đã nộp", "Submitted"),
        ("approved", "Đã phê duyệt", "Approved"),
        ("returned", "Bị trả lại", "Returned"),
    ],
    "item_review_state": [
        ("returned", "Trả lại để sửa", "Sent back"),
        ("resubmitted", "Đã sửa, chờ thẩm định", "Resubmitted"),
    ],
    "provenance": [
        ("self_reported", "Tự báo cáo", "Self-reported"),
        ("verified", "Đã kiểm chứng", "Verified"),
        ("measured", "Đo đếm", "Measured"),
    ],
    "document_status": [
        ("drafting", "Đang soạn thảo", "Drafting"),
        ("issued", "Đã ban hành", "Issued"),
    ],
    "compliance": [
        ("on_time", "Đúng hạn", "On time"),
        ("late", "Muộn", "Late"),
        ("missing", "Chưa nộp", "Missing"),
    ],
    "webhook_event": [
        ("report.submitted", "Báo cáo đã nộp", "Report submitted"),
        ("report.approved", "Báo cáo đã phê duyệt", "Report approved"),
        ("report.returned", "Báo cáo bị trả lại", "Report returned"),
        ("period.opened", "Kỳ báo cáo đã mở", "Reporting period opened"),
        ("task.status_changed", "Tình trạng nhiệm vụ thay đổi", "Task status changed"),
    ],
    "delivery_status": [
        ("pending", "Đang chờ gửi", "Pending"),
        ("delivered", "Đã gửi", "Delivered"),
        ("failed", "Gửi thất bại", "Failed"),
    ],
    # AgencyItemLink.role, SectionAgencyRead.role, AssignmentItem.role.
    "agency_role": [
        ("lead", "Chủ trì", "Lead"),
        ("coordinating", "Phối hợp", "Coordinating"),
        ("addressee", "Được giao", "Addressee"),
    ],
    # SearchHit.type, ChangeRead.type and the `types` filters of /search and /sync.
    "object_type": [
        ("task", "Nhiệm vụ", "Task"),
        ("indicator", "Chỉ tiêu", "Indicator"),
        ("document", "Văn bản", "Document"),
        ("section", "Mục của kế hoạch", "Plan section"),
        ("agency", "Cơ quan, đơn vị", "Agency"),
        ("period", "Kỳ báo cáo", "Reporting period"),
        ("report", "Báo cáo", "Report"),
        ("task_update", *_TASK_UPDATE),
        ("indicator_value", *_INDICATOR_VALUE),
        ("document_update", *_DOCUMENT_UPDATE),
    ],
    # ChangeRead.op.
    "change_op": [
        ("upsert", "Thêm mới hoặc cập nhật", "Created or updated"),
        ("delete", "Đã xóa", "Deleted"),
    ],
    # AttachmentRead.item_kind: the kind of report item a file is attached to.
    "report_item_kind": [
        ("task-updates", *_TASK_UPDATE),
        ("indicator-values", *_INDICATOR_VALUE),
        ("document-updates", *_DOCUMENT_UPDATE),
    ],
    # SearchHit.matched_field.
    "search_field": [
        ("code", "Mã", "Code"),
        ("title", "Tiêu đề", "Title"),
        ("name", "Tên", "Name"),
        ("text", "Nội dung", "Text"),
        ("full_text", "Nội dung đầy đủ", "Full text"),
        ("bullets", "Các ý", "Bullet points"),
        ("deliverables", "Kết quả, sản phẩm", "Deliverables"),
        ("lead_text", "Cơ quan chủ trì (nguyên văn)", "Lead agency (as written)"),
        ("short_name", "Tên viết tắt", "Short name"),
        ("aliases", "Tên gọi khác", "Other names"),
        ("number", "Số thứ tự", "Number"),
        ("type", "Loại văn bản", "Document type"),
    ],
    # Permission (MeRead.permissions): what the signed-in user may do.
    "permission": [
        ("profile:read", "Xem hồ sơ của mình", "View own profile"),
        ("profile:password", "Đổi mật khẩu của mình", "Change own password"),
        ("users:read", "Xem người dùng của đơn vị", "View users of own agency"),
        ("users:read_all", "Xem người dùng của mọi đơn vị", "View users of every agency"),
        ("users:manage", "Quản lý người dùng", "Manage users"),
        (
            "reports:read_own",
            "Xem báo cáo của đơn vị, kể cả bản nháp",
            "Read own agency's reports, drafts included",
        ),
        (
            "reports:read_all",
            "Xem báo cáo đã nộp của mọi đơn vị",
            "Read every agency's submitted reports",
        ),
        ("reports:edit", "Lập, sửa báo cáo của đơn vị", "Draft and edit own agency's report"),
        ("reports:submit", "Nộp, rút báo cáo của đơn vị", "Submit or withdraw own agency's report"),
        ("reports:comment", "Trao đổi ý kiến về báo cáo", "Comment on reports"),
        (
            "reports:review",
            "Thẩm định báo cáo (phê duyệt, trả lại)",
            "Review reports (approve, return)",
        ),
        ("periods:manage", "Quản lý kỳ báo cáo", "Manage reporting periods"),
        ("audit:read", "Xem nhật ký hệ thống", "Read the audit log"),
        ("webhooks:manage", "Quản lý webhook", "Manage webhooks"),
        (
            "reorganisations:manage",
            "Ghi nhận, điều chỉnh sắp xếp tổ chức bộ máy",
            "Record and correct reorganisations",
        ),
    ],
    "reorganisation_kind": [
        ("merge", "Hợp nhất, sáp nhập", "Merger"),
        ("split", "Chia tách", "Split"),
        ("rename", "Đổi tên", "Rename"),
        ("dissolve", "Giải thể", "Dissolution"),
        ("transfer", "Chuyển giao chức năng, nhiệm vụ", "Transfer of functions"),
        ("level_abolished", "Kết thúc cấp hành chính", "End of an administrative level"),
    ],
    "reorganisation_origin": [
        ("file", "Theo tệp dữ liệu", "From the data file"),
        ("api", "Ghi nhận qua API", "Recorded through the API"),
    ],
}


@router.get("/enums", operation_id="meta-enums", summary="Enum values with labels")
async def enums() -> Enums:
    """Public. Every enum of the API (roles, statuses, comparators, compliance, an agency's
    role on an item, the kinds of search hits and sync changes, permissions …) with the
    Vietnamese and English label of each value, in display order. Every enum value the
    contract declares has its labels here (media types excepted); the list changes only
    with a new version of the API."""
    return Enums(
        enums={
            name: [Label(value=v, vi=vi, en=en) for v, vi, en in values]
            for name, values in ENUMS.items()
        }
    )
