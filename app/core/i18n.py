"""User-facing messages in Vietnamese (default) and English, chosen by Accept-Language."""

from typing import Literal

Lang = Literal["vi", "en"]
DEFAULT_LANG: Lang = "vi"

MESSAGES: dict[str, dict[Lang, str]] = {
    # Problem titles, by stable code.
    "not_found": {"vi": "Không tìm thấy", "en": "Not found"},
    "plan_not_found": {"vi": "Không có kế hoạch này", "en": "Plan not found"},
    "validation_error": {"vi": "Dữ liệu không hợp lệ", "en": "Invalid input"},
    "invalid_cursor": {"vi": "Con trỏ phân trang không hợp lệ", "en": "Invalid pagination cursor"},
    "unknown_filter_value": {"vi": "Giá trị bộ lọc không tồn tại", "en": "Unknown filter value"},
    "method_not_allowed": {"vi": "Phương thức không được hỗ trợ", "en": "Method not allowed"},
    "http_error": {"vi": "Yêu cầu không hợp lệ", "en": "Bad request"},
    "malformed_request": {"vi": "Yêu cầu sai định dạng", "en": "Malformed request"},
    "malformed_request.detail": {
        "vi": "Không đọc được nội dung yêu cầu (JSON hoặc biểu mẫu hỏng).",
        "en": "The request body could not be parsed (broken JSON or form data).",
    },
    "service_unavailable": {
        "vi": "Dịch vụ tạm thời không sẵn sàng",
        "en": "Service temporarily unavailable",
    },
    "database_unavailable": {
        "vi": "Cơ sở dữ liệu tạm thời không sẵn sàng",
        "en": "Database temporarily unavailable",
    },
    "internal_error": {"vi": "Lỗi máy chủ", "en": "Internal server error"},
    "unauthorized": {"vi": "Chưa xác thực", "en": "Unauthorized"},
    "invalid_grant": {"vi": "Thông tin cấp quyền không hợp lệ", "en": "Invalid grant"},
    "agency_ended": {"vi": "Cơ quan đã kết thúc hoạt động", "en": "Agency has ended"},
    "unsupported_grant_type": {
        "vi": "Kiểu cấp quyền không được hỗ trợ",
        "en": "Unsupported grant type",
    },
    "forbidden": {"vi": "Không có quyền", "en": "Forbidden"},
    "too_many_requests": {"vi": "Quá nhiều yêu cầu", "en": "Too many requests"},
    "conflict": {"vi": "Xung đột dữ liệu", "en": "Conflict"},
    "precondition_failed": {"vi": "Phiên bản đã thay đổi", "en": "Precondition failed"},
    "precondition_required": {"vi": "Thiếu điều kiện If-Match", "en": "Precondition required"},
    "payload_too_large": {"vi": "Nội dung quá lớn", "en": "Payload too large"},
    "payload_too_large.detail": {
        "vi": "Nội dung yêu cầu vượt quá giới hạn {limit}.",
        "en": "The request body exceeds the limit of {limit}.",
    },
    "request_timeout": {"vi": "Hết thời gian chờ yêu cầu", "en": "Request timeout"},
    "request_timeout.detail": {
        "vi": "Không nhận thêm được phần nào của nội dung yêu cầu trong {seconds} giây; "
        "hãy gửi lại yêu cầu.",
        "en": "No part of the request body arrived for {seconds} seconds; send the request again.",
    },
    "unsupported_media_type": {
        "vi": "Kiểu nội dung không được hỗ trợ",
        "en": "Unsupported media type",
    },
    "unsupported_media_type.multipart": {
        "vi": "Tuyến này không nhận nội dung multipart/form-data; hãy gửi dạng được mô tả.",
        "en": "This route does not take a multipart/form-data body; send the documented type.",
    },
    "unsupported_media_type.upload_charset": {
        "vi": "Tệp tải lên phải dùng bảng mã UTF-8 (charset=utf-8).",
        "en": "An upload must use the UTF-8 character set (charset=utf-8).",
    },
    "unsupported_media_type.json_encoding": {
        "vi": "Nội dung JSON phải được mã hoá UTF-8.",
        "en": "A JSON body must be encoded in UTF-8.",
    },
    # Details.
    "unauthorized.missing": {
        "vi": "Cần đăng nhập: gửi mã truy cập trong tiêu đề Authorization.",
        "en": "Sign in required: send an access token in the Authorization header.",
    },
    "unauthorized.invalid_token": {
        "vi": "Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi.",
        "en": "The access token is invalid, expired or revoked.",
    },
    "unauthorized.invalid_refresh": {
        "vi": "Mã làm mới không hợp lệ, đã hết hạn hoặc đã bị thu hồi.",
        "en": "The refresh token is invalid, expired or revoked.",
    },
    "unauthorized.refresh_reused": {
        "vi": "Mã làm mới đã được dùng trước đó; mọi phiên liên quan đã bị thu hồi.",
        "en": "The refresh token was already used; every session from it has been revoked.",
    },
    "agency_ended.detail": {
        "vi": "Cơ quan {agency} ({code}) đã kết thúc hoạt động từ ngày {since}; quản trị viên"
        " cần chuyển tài khoản sang cơ quan kế thừa: {successors}.",
        "en": "The agency {agency} ({code}) ended on {since}; an administrator must move the"
        " account to its successor: {successors}.",
    },
    "agency_ended.no_successor": {
        "vi": "Cơ quan {agency} ({code}) đã kết thúc hoạt động từ ngày {since} và không có cơ"
        " quan kế thừa; quản trị viên cần chuyển tài khoản sang cơ quan khác.",
        "en": "The agency {agency} ({code}) ended on {since} and has no successor; an"
        " administrator must move the account to another agency.",
    },
    "invalid_grant.detail": {
        "vi": "Tên đăng nhập hoặc mật khẩu không đúng.",
        "en": "The username or password is incorrect.",
    },
    "unsupported_grant_type.detail": {
        "vi": "Kiểu cấp quyền (grant_type) không được hỗ trợ; dùng password hoặc refresh_token.",
        "en": "Unsupported grant_type; use password or refresh_token.",
    },
    "forbidden.detail": {
        "vi": "Tài khoản của bạn không có quyền thực hiện thao tác này.",
        "en": "Your account is not allowed to do this.",
    },
    "too_many_requests.detail": {
        "vi": "Đăng nhập sai quá nhiều lần; thử lại sau {seconds} giây.",
        "en": "Too many failed sign-ins; try again in {seconds} seconds.",
    },
    "conflict.username_taken": {
        "vi": "Tên đăng nhập “{username}” đã được dùng.",
        "en": "The username “{username}” is taken.",
    },
    "conflict.self_lockout": {
        "vi": "Quản trị viên không thể tự khóa hoặc tự hạ quyền của mình.",
        "en": "Administrators cannot deactivate or demote themselves.",
    },
    "conflict.period_not_open": {
        "vi": "Kỳ báo cáo chưa mở hoặc đã đóng.",
        "en": "The reporting period is not open.",
    },
    "conflict.period_closed": {
        "vi": "Kỳ báo cáo đã đóng; chỉ có thể mở lại.",
        "en": "The reporting period is closed; it can only be reopened.",
    },
    "conflict.report_exists": {
        "vi": "Cơ quan đã có báo cáo cho kỳ này.",
        "en": "The agency already has a report for this period.",
    },
    "conflict.item_exists": {
        "vi": "Báo cáo đã có nội dung cho mục này; hãy sửa nội dung đó.",
        "en": "The report already has an item for this; edit that one.",
    },
    "conflict.client_id_taken": {
        "vi": "Mã client_id đã được dùng cho một báo cáo khác.",
        "en": "This client_id is already used in another report.",
    },
    "conflict.delivery_pending": {
        "vi": "Lần gửi này vẫn đang chờ gửi; chỉ gửi lại được khi đã gửi xong hoặc thất bại.",
        "en": "This delivery is still pending; only a delivered or failed one can be sent again.",
    },
    "conflict.webhook_inactive": {
        "vi": "Webhook đang tạm dừng; hãy bật lại trước khi gửi lại.",
        "en": "The webhook is paused; activate it before redelivering.",
    },
    "conflict.invalid_state": {
        "vi": "Không thể “{action}” khi đang ở trạng thái “{state}”.",
        "en": "Cannot “{action}” in state “{state}”.",
    },
    "conflict.reorganisation_exists": {
        "vi": "Đã có sự kiện sắp xếp tổ chức mã “{code}”.",
        "en": "A reorganisation with code “{code}” already exists.",
    },
    "conflict.agency_exists": {
        "vi": "Đã có cơ quan, đơn vị mang một trong các mã: {codes}.",
        "en": "An agency with one of the codes {codes} already exists.",
    },
    "idempotency_key_reused": {
        "vi": "Khóa Idempotency-Key đã dùng",
        "en": "Idempotency-Key reused",
    },
    "idempotency_key_reused.detail": {
        "vi": "Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác.",
        "en": "This Idempotency-Key was used for a different request.",
    },
    "idempotency_key_in_use": {
        "vi": "Khóa Idempotency-Key đang được dùng",
        "en": "Idempotency-Key in use",
    },
    "idempotency_key_in_use.detail": {
        "vi": "Một yêu cầu với khóa Idempotency-Key này vẫn đang được xử lý. Hãy thử lại sau.",
        "en": "A request under this Idempotency-Key is still being processed. Retry later.",
    },
    "idempotency_answer_unavailable": {
        "vi": "Không đọc được câu trả lời đã lưu",
        "en": "Stored answer unavailable",
    },
    "idempotency_answer_unavailable.detail": {
        "vi": "Yêu cầu với khóa Idempotency-Key này đã được thực hiện, nhưng câu trả lời đã lưu "
        "không còn đọc được (khóa ký của máy chủ đã đổi). Hãy kiểm tra kết quả rồi dùng khóa mới.",
        "en": "The request under this Idempotency-Key was done, but its stored answer can no "
        "longer be read (the server's signing key changed). Check the outcome, then use a new key.",
    },
    "precondition_failed.detail": {
        "vi": "Đối tượng đã được sửa bởi người khác; tải lại rồi thử lại.",
        "en": "The object was changed by someone else; reload and try again.",
    },
    "precondition_failed.stale": {
        "vi": "Bạn gửi phiên bản {seen} nhưng đối tượng nay ở phiên bản {current} (đã có thay "
        "đổi sau khi bạn tải); hãy tải lại, xem thay đổi rồi thử lại.",
        "en": "You sent version {seen}, but the object is now at version {current} (it changed "
        "after you loaded it); reload, review the changes and try again.",
    },
    "precondition_failed.foreign": {
        "vi": "If-Match không phải ETag nào của đối tượng này (phiên bản hiện tại: {current}); "
        "hãy gửi đúng ETag nhận được từ lần đọc hoặc ghi gần nhất.",
        "en": "If-Match holds no ETag of this object (current version: {current}); send the "
        "ETag exactly as the latest read or write answered it.",
    },
    "precondition_required.detail": {
        "vi": "Gửi tiêu đề If-Match với ETag của phiên bản bạn đang sửa.",
        "en": "Send an If-Match header with the ETag of the version you are editing.",
    },
    "not_found.entity": {
        "vi": "Không tìm thấy {entity} có mã “{key}”.",
        "en": "No {entity} with code “{key}”.",
    },
    "plan_not_found.detail": {
        "vi": "Không có kế hoạch mã “{key}”; bỏ tham số plan để dùng kế hoạch mặc định.",
        "en": "There is no plan with code “{key}”; leave out the plan parameter for the "
        "default plan.",
    },
    "not_found.route": {
        "vi": "Không có tài nguyên tại đường dẫn này.",
        "en": "There is no resource at this path.",
    },
    "invalid_cursor.detail": {
        "vi": "Tham số cursor phải là next_cursor của một trang (32 chữ số thập lục phân).",
        "en": "The cursor must be a page's next_cursor (32 hexadecimal digits).",
    },
    "unknown_filter_value.detail": {
        "vi": "Không có giá trị “{value}” cho bộ lọc “{field}”.",
        "en": "There is no “{value}” for filter “{field}”.",
    },
    "validation_error.detail": {
        "vi": "Một hoặc nhiều tham số không hợp lệ; xem danh sách errors.",
        "en": "One or more parameters are invalid; see the errors list.",
    },
    "method_not_allowed.detail": {
        "vi": "Đường dẫn này không hỗ trợ phương thức {method}.",
        "en": "This path does not support {method}.",
    },
    "server_busy": {"vi": "Máy chủ đang quá tải", "en": "Server busy"},
    "server_busy.detail": {
        "vi": "Máy chủ đang xử lý quá nhiều yêu cầu; vui lòng thử lại sau {seconds} giây.",
        "en": "The server is handling too many requests; please retry in {seconds} seconds.",
    },
    "database_unavailable.detail": {
        "vi": "Tạm thời không kết nối được cơ sở dữ liệu; vui lòng thử lại sau {seconds} giây.",
        "en": "The database cannot be reached for now; please retry in {seconds} seconds.",
    },
    "internal_error.detail": {
        "vi": "Đã có lỗi không mong muốn; mã yêu cầu: {request_id}.",
        "en": "An unexpected error occurred; request id: {request_id}.",
    },
    # Entities.
    "entity.task": {"vi": "nhiệm vụ", "en": "task"},
    "entity.indicator": {"vi": "chỉ tiêu", "en": "indicator"},
    "entity.document": {"vi": "văn bản", "en": "document"},
    "entity.section": {"vi": "mục", "en": "section"},
    "entity.agency": {"vi": "cơ quan", "en": "agency"},
    "entity.plan": {"vi": "kế hoạch", "en": "plan"},
    "entity.user": {"vi": "người dùng", "en": "user"},
    "entity.period": {"vi": "kỳ báo cáo", "en": "reporting period"},
    "entity.report": {"vi": "báo cáo", "en": "report"},
    "entity.item": {"vi": "nội dung báo cáo", "en": "report item"},
    "entity.notification": {"vi": "thông báo", "en": "notification"},
    "entity.attachment": {"vi": "tệp minh chứng", "en": "evidence file"},
    "entity.webhook": {"vi": "webhook", "en": "webhook"},
    "entity.delivery": {"vi": "lần gửi webhook", "en": "webhook delivery"},
    "entity.comment": {"vi": "bình luận", "en": "comment"},
    "entity.reorganisation": {"vi": "sự kiện sắp xếp tổ chức", "en": "reorganisation"},
    # Field validation, by pydantic error type.
    "field.missing": {"vi": "Thiếu trường bắt buộc.", "en": "Field required."},
    "field.int_parsing": {"vi": "Phải là số nguyên.", "en": "Must be an integer."},
    "field.date_parsing": {
        "vi": "Phải là một ngày dạng YYYY-MM-DD.",
        "en": "Must be a date in the form YYYY-MM-DD.",
    },
    "field.greater_than_equal": {
        "vi": "Phải lớn hơn hoặc bằng {ge}.",
        "en": "Must be greater than or equal to {ge}.",
    },
    "field.less_than_equal": {
        "vi": "Phải nhỏ hơn hoặc bằng {le}.",
        "en": "Must be less than or equal to {le}.",
    },
    "field.string_too_short": {
        "vi": "Phải có ít nhất {min_length} ký tự.",
        "en": "Must have at least {min_length} characters.",
    },
    "field.string_too_long": {
        "vi": "Không được dài quá {max_length} ký tự.",
        "en": "Must have at most {max_length} characters.",
    },
    "field.string_pattern_mismatch": {
        "vi": "Không đúng định dạng.",
        "en": "Does not match the expected format.",
    },
    "field.literal_error": {
        "vi": "Phải là một trong: {expected}.",
        "en": "Must be one of: {expected}.",
    },
    "field.enum": {"vi": "Phải là một trong: {expected}.", "en": "Must be one of: {expected}."},
    "field.invalid": {"vi": "Giá trị không hợp lệ.", "en": "Invalid value."},
    "field.unknown_field": {
        "vi": "Không có trường “{name}”; chọn trong: {allowed}.",
        "en": "There is no field “{name}”; choose from: {allowed}.",
    },
    "field.nul_character": {
        "vi": "Không được chứa ký tự NUL.",
        "en": "Must not contain the NUL character.",
    },
    "field.extra_forbidden": {
        "vi": "Trường này không được phép.",
        "en": "This field is not allowed.",
    },
    "field.password_too_short": {"vi": "Mật khẩu quá ngắn.", "en": "The password is too short."},
    "field.password_too_long": {"vi": "Mật khẩu quá dài.", "en": "The password is too long."},
    "field.password_contains_name": {
        "vi": "Mật khẩu không được chứa tên đăng nhập hoặc họ tên.",
        "en": "The password must not contain the username or the person's name.",
    },
    "field.password_too_simple": {
        "vi": "Mật khẩu quá đơn giản.",
        "en": "The password is too simple.",
    },
    "field.wrong_password": {
        "vi": "Mật khẩu hiện tại không đúng.",
        "en": "The current password is wrong.",
    },
    "field.unknown_agency": {
        "vi": "Không có cơ quan với mã này.",
        "en": "There is no agency with this code.",
    },
    "field.reviewer_agency": {
        "vi": "Chuyên viên thẩm định phải thuộc Sở TTTT hoặc cơ quan kế thừa Sở TTTT"
        " (GET /plan, succession.reviewer).",
        "en": "Reviewers must belong to Sở TTTT or to the department that succeeds it"
        " (GET /plan, succession.reviewer).",
    },
    "field.agency_ended": {
        "vi": "Cơ quan {agency} ({code}) đã kết thúc hoạt động từ ngày {since}; chọn cơ quan"
        " kế thừa: {successors}.",
        "en": "The agency {agency} ({code}) ended on {since}; choose its successor: {successors}.",
    },
    "field.agency_ended_no_successor": {
        "vi": "Cơ quan {agency} ({code}) đã kết thúc hoạt động từ ngày {since} và không có cơ"
        " quan kế thừa.",
        "en": "The agency {agency} ({code}) ended on {since} and has no successor.",
    },
    "field.agency_not_asked": {
        "vi": "Kỳ báo cáo này không yêu cầu cơ quan của bạn.",
        "en": "This period does not ask your agency to report.",
    },
    "field.comment_required": {"vi": "Cần ghi rõ lý do.", "en": "A reason is required."},
    "field.unknown_task": {
        "vi": "Không có nhiệm vụ với mã này.",
        "en": "There is no task with this code.",
    },
    "field.unknown_target": {
        "vi": "Không có chỉ tiêu với mã này.",
        "en": "There is no indicator target with this code.",
    },
    "field.unknown_document": {
        "vi": "Không có văn bản với số này.",
        "en": "There is no document with this number.",
    },
    "field.unknown_district": {
        "vi": "Không có đơn vị cấp huyện với mã này.",
        "en": "There is no district-level unit with this code.",
    },
    "field.not_assigned": {
        "vi": "Cơ quan của bạn không chủ trì hay phối hợp mục này.",
        "en": "Your agency neither leads nor coordinates this.",
    },
    "field.value_required": {"vi": "Cần nhập giá trị.", "en": "A value is required."},
    "field.achieved_required": {
        "vi": "Cần cho biết đã đạt hay chưa.",
        "en": "Say whether it was achieved.",
    },
    "field.issued_fields_required": {
        "vi": "Văn bản đã ban hành cần số và ngày ban hành.",
        "en": "An issued document needs its number and date.",
    },
    "field.state_status_mismatch": {
        "vi": "`status` (tên cũ của `state`) khác `state`; chỉ gửi `state`.",
        "en": "`status` (the old name of `state`) differs from `state`; send `state` only.",
    },
    "field.cutoff_after_due": {
        "vi": "Ngày chốt số liệu phải trước hạn nộp.",
        "en": "The cut-off date must not be after the due date.",
    },
    "field.unsupported_file_type": {
        "vi": "Chỉ nhận tệp JPEG, PNG, WebP hoặc PDF (xác định theo nội dung tệp).",
        "en": "Only JPEG, PNG, WebP or PDF files are accepted (judged by their content).",
    },
    "field.multipart_required": {
        "vi": "Gửi tệp dạng multipart/form-data trong trường “file”.",
        "en": "Send the file as multipart/form-data in the “file” field.",
    },
    "field.group_agency": {
        "vi": "Người dùng không thể thuộc một nhóm cơ quan.",
        "en": "A user cannot belong to a group of agencies.",
    },
    # Reorganisations ({codes}: the agency codes concerned).
    "field.unknown_agencies": {
        "vi": "Không có cơ quan với mã: {codes}.",
        "en": "No agency has the code: {codes}.",
    },
    "field.agency_exists": {
        "vi": "Mã cơ quan đã được dùng: {codes}.",
        "en": "Agency code already in use: {codes}.",
    },
    "field.agency_not_yet": {
        "vi": "Một cơ quan được nêu trước ngày nó được thành lập (hoặc sự kiện khác nêu cơ quan "
        "do sự kiện này thành lập trước ngày của nó).",
        "en": "An agency is named before the event that brought it into being (or another "
        "event names an agency this event introduces before this event's date).",
    },
    "field.succession_cycle": {
        "vi": "Chuỗi kế thừa bị lặp: một cơ quan kế thừa chính cơ quan đã kế thừa nó.",
        "en": "The successions would loop: an agency would succeed an agency that succeeded it.",
    },
    "field.successors_required": {
        "vi": "Sự kiện loại này cần có cơ quan kế thừa.",
        "en": "An event of this kind has successors.",
    },
    "field.rename_one_to_one": {
        "vi": "Đổi tên gồm đúng một cơ quan trước và một cơ quan sau.",
        "en": "A rename has exactly one predecessor and one successor.",
    },
    "field.transfers_required": {
        "vi": "Sự kiện chuyển giao cần liệt kê nội dung chuyển giao.",
        "en": "A transfer event lists its transfers.",
    },
    "field.transfer_empty": {
        "vi": "Mỗi nội dung chuyển giao nêu chức năng hoặc mục của kế hoạch.",
        "en": "Each transfer names a function or plan items.",
    },
    "field.basis_number_required": {
        "vi": "Sự kiện đã xác minh cần ít nhất một căn cứ pháp lý có số hiệu văn bản.",
        "en": "A verified event needs a legal basis with a document number.",
    },
    "field.notes_required": {
        "vi": "Sự kiện chưa xác minh cần ghi chú điều chưa rõ.",
        "en": "An unverified event needs notes saying what is unknown.",
    },
    "field.duplicate_agency": {
        "vi": "Một cơ quan được nêu hai lần.",
        "en": "An agency is listed twice.",
    },
    "field.not_district": {
        "vi": "Kết thúc cấp hành chính chỉ áp dụng cho đơn vị cấp huyện.",
        "en": "Ending an administrative level applies to district-level units only.",
    },
    "field.unknown_item": {
        "vi": "Không có mục kế hoạch với mã này.",
        "en": "There is no plan item with this code.",
    },
    "field.webhook_destination_blocked": {
        "vi": "Địa chỉ nhận dẫn tới mạng nội bộ (loopback, link-local, mạng riêng, multicast"
        " hoặc địa chỉ dành riêng) nên không được phép; quản trị hệ thống có thể mở dải mạng"
        " bằng DXPLAN_WEBHOOK_ALLOWED_NETWORKS.",
        "en": "The receiver's address leads into an internal network (loopback, link-local,"
        " private, multicast or reserved) and is not allowed; the operator can open a range"
        " with DXPLAN_WEBHOOK_ALLOWED_NETWORKS.",
    },
}


def negotiate(accept_language: str | None) -> Lang:
    """Pick vi or en from an Accept-Language header by quality; Vietnamese by default."""
    if not accept_language:
        return DEFAULT_LANG
    best: tuple[float, int, Lang] | None = None
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary not in ("vi", "en") or quality <= 0:
            continue
        lang: Lang = "vi" if primary == "vi" else "en"
        candidate = (quality, -index, lang)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else DEFAULT_LANG


def translate(key: str, lang: Lang, /, **params: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    template = entry[lang]
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
