"""Realistic reporting history for the benchmark, written in bulk SQL as the database owner.

One *block* is one plan's worth of reporting: five closed periods (2021-2025), each asking
every agency the plan assigns something to (32 of its 48: those the
service's annual periods ask) for its report. Block 0 holds the five
annual periods, plus the open period of the current round (``annual-2026``, reports in every
state, where the benchmark's officers write); blocks 1, 2, ... add five ad-hoc periods each,
spread over the same years. ``1×`` is block 0; ``100×`` is blocks 0-99: the same years with a
hundred times the history.

Each report carries what its agency is assigned: a progress row for every task it leads
(directly, or as a member of a lead group), a value for every indicator target it leads (plus
one value per district for district- and commune-level targets) and the state of every
document it leads; Vietnamese text throughout. Reports of closed periods are approved (a few
returned or never reviewed); each has the history the service would have written: events
(created, submitted, approved or returned with a reason, some comments), one audit row per
write with before/after snapshots, the sync feed's change rows (including the public ones an
approval fans out) and the agency's notifications.

Speed: everything is ``INSERT ... SELECT`` inside the server, with triggers off
(``session_replication_role = replica``, which needs a superuser, as on this machine's
PostgreSQL and in the embedded one), so the change log and audit rows are written here with
their historic times instead of by the triggers with ``now()``. The audit hash chain is
not extended over the generated rows (a throwaway database: ``dxplan audit verify`` would
stop at the first of them); appending a link costs the same whatever the chain's length.
"""

import re
import time
from dataclasses import dataclass

import asyncpg

from app.core.security import hash_password
from app.core.text import fold

PASSWORD = "Bench-Password-2358"
REVIEWER, ADMIN, OBSERVER = "bench.reviewer", "bench.admin", "bench.observer"
OPEN_PERIOD = "annual-2026"


def officer_name(agency_code: str) -> str:
    return "bench.o." + agency_code.lower()


# Phrase banks; format() arguments are (percent, year) for summaries, none for the others.
SUMMARIES = [
    "Đã triển khai theo kế hoạch, hoàn thành %s%% khối lượng công việc năm %s.",
    "Hoàn thành %s%%; đã tổ chức tập huấn cho cán bộ, công chức và người lao động (năm %s).",
    "Đạt %s%% tiến độ; hệ thống đã kết nối với nền tảng tích hợp, chia sẻ dữ liệu của tỉnh"
    " (năm %s).",
    "Tiến độ %s%%: đã ban hành quy chế vận hành, đang nâng cấp hạ tầng kỹ thuật (năm %s).",
    "Thực hiện được %s%%; phối hợp với doanh nghiệp viễn thông triển khai tại các xã (năm %s).",
]
DIFFICULTIES = [
    "Kinh phí bố trí chậm so với kế hoạch.",
    "Thiếu nhân lực chuyên trách công nghệ thông tin.",
    "Hạ tầng mạng tại một số xã vùng sâu chưa đáp ứng.",
    "Dữ liệu chuyên ngành chưa được chuẩn hóa, khó kết nối, chia sẻ.",
    "",
]
NEXT_STEPS = [
    "Tiếp tục triển khai và tổng kết, đánh giá vào quý IV.",
    "Đề xuất bổ sung kinh phí năm sau; đẩy mạnh tuyên truyền.",
    "Hoàn thiện cơ sở dữ liệu và đưa vào vận hành chính thức.",
    "Phối hợp Sở Thông tin và Truyền thông kiểm tra an toàn thông tin.",
]
COMMENTS = [
    "Đề nghị đơn vị bổ sung số liệu minh chứng cho chỉ tiêu này.",
    "Đơn vị đã cập nhật số liệu theo hướng dẫn, đề nghị Sở xem xét.",
    "Số liệu chưa khớp với báo cáo quý trước, đề nghị rà soát lại.",
    "Đã bổ sung văn bản minh chứng, kính đề nghị phê duyệt.",
]
REASONS = [
    "Tỷ lệ hồ sơ xử lý trực tuyến chưa có nguồn số liệu, đề nghị bổ sung.",
    "Tiến độ báo cáo không thống nhất với kết quả kiểm tra thực tế.",
]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values: list[str], h: str) -> str:
    """A deterministic choice from a phrase bank by the integer SQL expression ``h``."""
    return f"({_sql_array(values)})[1 + ({h}) % {len(values)}]"


SETUP = """
CREATE TEMP TABLE bench_reporters ON COMMIT DROP AS
    SELECT a.id, a.code, a.short_name, u.id AS officer_id
    FROM agencies a JOIN users u ON u.username = 'bench.o.' || lower(a.code)
    WHERE a.id IN (SELECT agency_id FROM period_agencies JOIN reporting_periods p
                   ON p.id = period_id WHERE p.code = 'annual-2021');
CREATE TEMP TABLE bench_expand ON COMMIT DROP AS
    SELECT id AS src, id AS dst FROM bench_reporters
    UNION SELECT m.group_id, m.member_id FROM agency_group_members m
    JOIN bench_reporters r ON r.id = m.member_id;
CREATE TEMP TABLE bench_task_duties ON COMMIT DROP AS
    SELECT DISTINCT e.dst AS agency_id, t.id AS task_id, t.code
    FROM task_agencies l JOIN bench_expand e ON e.src = l.agency_id
    JOIN tasks t ON t.id = l.task_id WHERE l.role = 'lead';
CREATE TEMP TABLE bench_value_duties ON COMMIT DROP AS
    WITH led AS (
        SELECT DISTINCT e.dst AS agency_id, g.id AS target_id, g.level, g.kind, g.value AS goal,
               i.code
        FROM indicator_agencies l JOIN bench_expand e ON e.src = l.agency_id
        JOIN indicator_targets g ON g.indicator_id = l.indicator_id
        JOIN indicators i ON i.id = g.indicator_id WHERE l.role = 'lead')
    SELECT agency_id, target_id, kind, goal, code,
           CASE WHEN level = 'province' THEN 'province' END AS level, NULL::int AS district_id
    FROM led
    UNION ALL
    SELECT led.agency_id, led.target_id, led.kind, led.goal, led.code, led.level, d.id
    FROM led JOIN agencies d ON d.kind = 'district' WHERE led.level IN ('district', 'commune');
CREATE TEMP TABLE bench_document_duties ON COMMIT DROP AS
    SELECT DISTINCT e.dst AS agency_id, d.id AS document_id, d.number
    FROM document_agencies l JOIN bench_expand e ON e.src = l.agency_id
    JOIN documents d ON d.id = l.document_id WHERE l.role = 'lead';
CREATE TEMP TABLE bench_periods (id int, year int, cutoff date, is_open bool) ON COMMIT DROP;
CREATE TEMP TABLE bench_reports (
    id int, agency_id int, officer_id int, state text, year int, cutoff date, h int,
    created timestamptz, submitted timestamptz, decided timestamptz) ON COMMIT DROP;
"""

PERIODS = """
WITH u AS (
    UPDATE reporting_periods SET status = CASE WHEN year = 2026 THEN 'open' ELSE 'closed' END
    WHERE plan_id = $1::int AND kind = 'annual' AND year BETWEEN 2021 AND 2026 AND $2::int = 0
    RETURNING id, year, cutoff_date, status)
INSERT INTO bench_periods SELECT id, year, cutoff_date, status = 'open' FROM u;
WITH p AS (
    INSERT INTO reporting_periods (plan_id, code, kind, year, title, instructions, due_date,
        cutoff_date, status, created_by_id, version, created_at, updated_at)
    SELECT $1::int, format('adhoc-%s-%s', b, y), 'ad_hoc', y,
        format('Báo cáo đột xuất đợt %s năm %s về tiến độ chuyển đổi số', b, y),
        'Các cơ quan, đơn vị báo cáo tiến độ thực hiện nhiệm vụ, chỉ tiêu và văn bản được giao'
        || ' tại Kế hoạch số 2358/KH-UBND ngày 25/6/2021 của UBND tỉnh Hải Dương.',
        c.cutoff + 15, c.cutoff, 'closed', $4::int, 1, c.cutoff - 45, c.cutoff + 20
    FROM generate_series(greatest($2::int, 1), $3::int - 1) b, generate_series(2021, 2025) y,
        LATERAL (SELECT make_date(y, 1, 10) + (b * 7) % 340 AS cutoff) c
    RETURNING id, year, cutoff_date)
INSERT INTO bench_periods SELECT id, year, cutoff_date, false FROM p;
INSERT INTO period_agencies (period_id, agency_id)
    SELECT p.id, r.id FROM bench_periods p JOIN reporting_periods rp ON rp.id = p.id
    CROSS JOIN bench_reporters r WHERE rp.kind = 'ad_hoc';
INSERT INTO changes (txid, entity, key, op, at)
    SELECT pg_current_xact_id()::text::bigint, 'period', p.id::text, 'upsert', p.cutoff - 45
    FROM bench_periods p JOIN reporting_periods rp ON rp.id = p.id WHERE rp.kind = 'annual';
"""

# Times: t0 is the cut-off, or three days ago for the open period.
REPORTS = """
WITH base AS (
    SELECT p.id AS period_id, r.id AS agency_id, r.officer_id, p.year, p.cutoff, p.is_open,
        abs(hashtext(p.id || ':' || r.id)) AS h,
        least(p.cutoff::timestamptz + interval '9 hours', now() - interval '3 days') AS t0
    FROM bench_periods p CROSS JOIN bench_reporters r),
st AS (
    SELECT *, CASE
        WHEN is_open THEN (ARRAY['draft', 'draft', 'draft', 'draft', 'submitted', 'submitted',
                                 'submitted', 'returned', 'approved', 'approved'])[1 + h % 10]
        WHEN h % 50 = 0 THEN 'returned' WHEN h % 50 = 1 THEN 'submitted'
        ELSE 'approved' END AS state
    FROM base),
times AS (
    SELECT *, t0 - interval '35 days' + (h % 15) * interval '1 day' AS created,
        t0 - (h % 3) * interval '1 day' - (h % 7) * interval '1 hour' AS submitted,
        least(t0 + (3 + h % 10) * interval '1 day', now() - interval '1 hour') AS decided
    FROM st),
ins AS (
    INSERT INTO reports (period_id, agency_id, state, version, created_by_id, submitted_at,
        approved_at, created_at, updated_at)
    SELECT period_id, agency_id, state, 3, officer_id,
        CASE WHEN state <> 'draft' THEN submitted END,
        CASE WHEN state = 'approved' THEN decided END, created,
        CASE state WHEN 'draft' THEN created WHEN 'submitted' THEN submitted ELSE decided END
    FROM times
    RETURNING id, period_id, agency_id)
INSERT INTO bench_reports
    SELECT ins.id, t.agency_id, t.officer_id, t.state, t.year, t.cutoff, t.h, t.created,
        t.submitted, t.decided
    FROM ins JOIN times t USING (period_id, agency_id);
"""

ITEMS = f"""
INSERT INTO task_updates (report_id, review_state, version, created_by_id, created_at, updated_at,
    task_id, status, percent_complete, public_summary, internal_difficulties, next_steps)
SELECT r.id, CASE WHEN r.state = 'approved' AND (r.h + d.task_id) % 97 = 0 THEN 'returned' END,
    1, r.officer_id, r.created + interval '1 day', r.submitted - interval '2 hours', d.task_id,
    CASE WHEN x.pct >= 100 THEN 'completed' WHEN x.pct = 0 THEN 'not_started'
         ELSE 'in_progress' END,
    x.pct, format({_pick(SUMMARIES, "r.h + d.task_id")}, x.pct, r.year),
    {_pick(DIFFICULTIES, "r.h + 3 * d.task_id")}, {_pick(NEXT_STEPS, "r.h + 7 * d.task_id")}
FROM bench_reports r JOIN bench_task_duties d ON d.agency_id = r.agency_id,
    LATERAL (SELECT least(100, greatest(0, (r.year - 2021) * 22 + (r.h + d.task_id) % 25))
             AS pct) x;
INSERT INTO indicator_values (report_id, review_state, version, created_by_id, created_at,
    updated_at, target_id, value, achieved, as_of, level, district_agency_id, source, provenance)
SELECT r.id, CASE WHEN r.state = 'approved' AND (r.h + d.target_id) % 89 = 0 THEN 'returned' END,
    1, r.officer_id, r.created + interval '2 days', r.submitted - interval '1 hour', d.target_id,
    CASE WHEN d.kind = 'numeric' THEN round(least(d.goal * 1.1,
        d.goal * (0.45 + 0.13 * (r.year - 2021)) + (r.h + d.target_id) % 9), 2) END,
    CASE WHEN d.kind = 'qualitative' THEN r.year >= 2023 OR (r.h % 3 = 0) END,
    r.cutoff, d.level, d.district_id,
    'Báo cáo của ' || a.short_name || ', số liệu đến ngày ' || to_char(r.cutoff, 'DD/MM/YYYY'),
    CASE WHEN (r.h + d.target_id) % 10 = 0 THEN 'verified' ELSE 'self_reported' END
FROM bench_reports r JOIN bench_value_duties d ON d.agency_id = r.agency_id
JOIN agencies a ON a.id = r.agency_id;
INSERT INTO document_updates (report_id, version, created_by_id, created_at, updated_at,
    document_id, status, issued_number, issued_on, note)
SELECT r.id, 1, r.officer_id, r.created + interval '3 days', r.submitted - interval '1 hour',
    d.document_id, CASE WHEN r.year >= 2022 OR r.h % 3 = 0 THEN 'issued' ELSE 'drafting' END,
    CASE WHEN r.year >= 2022 OR r.h % 3 = 0 THEN (100 + r.h % 900) || '/QĐ-UBND' END,
    CASE WHEN r.year >= 2022 OR r.h % 3 = 0 THEN make_date(r.year, 3, 1) + r.h % 200 END,
    'Văn bản đã được ' || (SELECT short_name FROM agencies WHERE id = r.agency_id)
    || ' tham mưu, trình UBND tỉnh.'
FROM bench_reports r JOIN bench_document_duties d ON d.agency_id = r.agency_id;
"""

EVENTS = f"""
INSERT INTO report_events (report_id, actor_id, action, from_state, to_state, created_at)
SELECT id, officer_id, 'created', NULL, 'draft', created FROM bench_reports
UNION ALL
SELECT id, officer_id, 'submitted', 'draft', 'submitted', submitted FROM bench_reports
WHERE state <> 'draft'
UNION ALL
SELECT r.id, $1::int, CASE r.state WHEN 'approved' THEN 'approved' ELSE 'returned' END, 'submitted',
    r.state, r.decided
FROM bench_reports r WHERE r.state IN ('approved', 'returned');
INSERT INTO report_events (report_id, actor_id, action, to_state, event_id, comment, created_at)
SELECT e.report_id, $1::int, 'comment', NULL, e.id, {_pick(REASONS, "r.h")}, e.created_at
FROM report_events e JOIN bench_reports r ON r.id = e.report_id AND e.action = 'returned';
INSERT INTO report_events (report_id, actor_id, action, to_state, comment, created_at)
SELECT id, CASE WHEN h % 2 = 0 THEN officer_id ELSE $1::int END, 'comment', NULL,
    {_pick(COMMENTS, "h / 5")}, submitted + interval '2 hours'
FROM bench_reports WHERE h % 5 = 0 AND state <> 'draft';
"""

# One audit row per write, as app.services.audit.record would have written it.
AUDIT = """
INSERT INTO audit_log (at, actor_id, action, entity, entity_id, before, after, request_id)
SELECT x.at, x.actor_id, x.action, x.entity, x.entity_id, x.before, x.after,
    substr(md5(x.entity || x.entity_id || x.action), 1, 32)
FROM (
    SELECT r.created AS at, r.officer_id AS actor_id, 'report.create' AS action,
        'report' AS entity, r.id::text AS entity_id, NULL::jsonb AS before,
        jsonb_build_object('id', r.id, 'agency_id', r.agency_id, 'state', 'draft',
            'version', 1) AS after
    FROM bench_reports r
    UNION ALL
    SELECT u.created_at, u.created_by_id, 'task_update.create', 'task_update', u.id::text, NULL,
        to_jsonb(u) FROM task_updates u JOIN bench_reports r ON r.id = u.report_id
    UNION ALL
    SELECT v.created_at, v.created_by_id, 'indicator_value.create', 'indicator_value',
        v.id::text, NULL, to_jsonb(v)
    FROM indicator_values v JOIN bench_reports r ON r.id = v.report_id
    UNION ALL
    SELECT u.created_at, u.created_by_id, 'document_update.create', 'document_update',
        u.id::text, NULL, to_jsonb(u)
    FROM document_updates u JOIN bench_reports r ON r.id = u.report_id
    UNION ALL
    SELECT r.submitted, r.officer_id, 'report.submit', 'report', r.id::text,
        jsonb_build_object('id', r.id, 'state', 'draft', 'version', 2),
        jsonb_build_object('id', r.id, 'state', 'submitted', 'version', 3)
    FROM bench_reports r WHERE r.state <> 'draft'
    UNION ALL
    SELECT r.decided, $1::int, 'report.' || CASE r.state WHEN 'approved' THEN 'approve'
        ELSE 'return' END, 'report', r.id::text,
        jsonb_build_object('id', r.id, 'state', 'submitted', 'version', 3),
        jsonb_build_object('id', r.id, 'state', r.state, 'version', 4)
    FROM bench_reports r WHERE r.state IN ('approved', 'returned')
    UNION ALL
    SELECT e.created_at, e.actor_id, 'report.comment', 'report', e.report_id::text, NULL,
        jsonb_build_object('comment', e.comment)
    FROM report_events e JOIN bench_reports r ON r.id = e.report_id
    WHERE e.action = 'comment' AND e.event_id IS NULL
) x ORDER BY x.at;
"""

# The sync feed's rows, as the log_change trigger would have written them.
CHANGES = """
INSERT INTO changes (txid, entity, key, op, agency_id, at)
SELECT pg_current_xact_id()::text::bigint, x.entity, x.key, 'upsert', x.agency_id, x.at
FROM (
    SELECT 'report' AS entity, r.id::text AS key, r.agency_id, t.at
    FROM bench_reports r, LATERAL (VALUES (r.created), (CASE WHEN r.state <> 'draft'
        THEN r.submitted END), (CASE WHEN r.state IN ('approved', 'returned')
        THEN r.decided END)) t(at)
    WHERE t.at IS NOT NULL
    UNION ALL
    SELECT 'task_update', u.report_id || '/' || u.id, r.agency_id, u.created_at
    FROM task_updates u JOIN bench_reports r ON r.id = u.report_id
    UNION ALL
    SELECT 'indicator_value', v.report_id || '/' || v.id, r.agency_id, v.created_at
    FROM indicator_values v JOIN bench_reports r ON r.id = v.report_id
    UNION ALL
    SELECT 'document_update', u.report_id || '/' || u.id, r.agency_id, u.created_at
    FROM document_updates u JOIN bench_reports r ON r.id = u.report_id
    UNION ALL
    SELECT 'task', d.code, NULL, r.decided FROM bench_reports r
    JOIN bench_task_duties d ON d.agency_id = r.agency_id WHERE r.state = 'approved'
    UNION ALL
    SELECT 'indicator', d.code, NULL, r.decided FROM bench_reports r
    JOIN bench_value_duties d ON d.agency_id = r.agency_id WHERE r.state = 'approved'
    UNION ALL
    SELECT 'document', d.number::text, NULL, r.decided FROM bench_reports r
    JOIN bench_document_duties d ON d.agency_id = r.agency_id WHERE r.state = 'approved'
) x ORDER BY x.at;
"""

NOTIFICATIONS = """
INSERT INTO notifications (user_id, kind, dedupe_key, report_id, message_vi, message_en,
    created_at, read_at)
SELECT r.officer_id, k.kind, k.kind || ':' || r.id || ':4:' || r.officer_id, r.id,
    CASE r.state WHEN 'approved' THEN 'Báo cáo “' || p.title || '” đã được phê duyệt.'
         ELSE 'Báo cáo “' || p.title || '” bị trả lại để chỉnh sửa.' END,
    CASE r.state WHEN 'approved' THEN 'Report “' || p.title || '” was approved.'
         ELSE 'Report “' || p.title || '” was returned for correction.' END,
    r.decided, CASE WHEN r.decided < now() - interval '30 days' THEN r.decided + interval '1 day'
                    END
FROM bench_reports r JOIN reports x ON x.id = r.id JOIN reporting_periods p ON p.id = x.period_id,
    LATERAL (SELECT CASE r.state WHEN 'approved' THEN 'report_approved'
                    ELSE 'report_returned' END AS kind) k
WHERE r.state IN ('approved', 'returned');
"""


def _statements(text: str) -> list[str]:
    """The statements of a block above (each ends a line with ';'; no text value does)."""
    return [part.strip() for part in text.split(";\n") if part.strip()]


async def _run(conn: asyncpg.Connection, text: str, *args: object) -> None:
    """Each statement with the parameters it names ($1 ... $n, taken from ``args``)."""
    for statement in _statements(text):
        used = [int(n) for n in re.findall(r"\$(\d+)", statement)]
        await conn.execute(statement, *args[: max(used, default=0)])


@dataclass
class Counts:
    reports: int
    task_updates: int
    indicator_values: int
    audit_rows: int
    change_rows: int
    seconds: float

    def describe(self) -> str:
        return (
            f"{self.reports:,} reports, {self.task_updates:,} task updates, "
            f"{self.indicator_values:,} indicator values, {self.audit_rows:,} audit rows, "
            f"{self.change_rows:,} change rows"
        )


# The agencies the plan's annual periods ask (app.services.periods.reporting_agencies).
REPORTING_AGENCIES = """
SELECT a.id, a.code, a.short_name FROM agencies a
WHERE a.id IN (SELECT agency_id FROM period_agencies JOIN reporting_periods p ON p.id = period_id
               WHERE p.code = 'annual-2021')
ORDER BY a.sort_order, a.code
"""


async def create_users(conn: asyncpg.Connection) -> None:
    """An officer for every agency that reports, a reviewer, an administrator, an observer;
    one password (PASSWORD) hashed once."""
    password_hash = await hash_password(PASSWORD)
    agencies = await conn.fetch(REPORTING_AGENCIES)
    by_code: dict[str, int] = {}
    rows = [
        (
            officer_name(a["code"]),
            f"Cán bộ phụ trách chuyển đổi số, {a['short_name']}",
            a["id"],
            "officer",
        )
        for a in agencies
    ]
    by_code.update(
        await conn.fetch("SELECT code, id FROM agencies WHERE code IN ('STTTT', 'UBND_TINH')")
    )
    rows += [
        (REVIEWER, "Chuyên viên thẩm định, Sở TTTT", by_code["STTTT"], "reviewer"),
        (ADMIN, "Quản trị hệ thống, Sở TTTT", by_code["STTTT"], "admin"),
        (OBSERVER, "Lãnh đạo UBND tỉnh", by_code["UBND_TINH"], "observer"),
    ]
    await conn.executemany(
        "INSERT INTO users (username, full_name, password_hash, agency_id, role, is_active,"
        " version, search_text) VALUES ($1, $2, $3, $4, $5, true, 1, $6)",
        [
            (u, name, password_hash, agency, role, fold(f"{u} {name}"))
            for u, name, agency, role in rows
        ],
    )


async def load(url: str, first_block: int, last_block: int, *, chunk: int = 10) -> Counts:
    """Write blocks ``first_block`` to ``last_block - 1`` (see the module docstring), ``chunk``
    blocks per transaction; block 0 also creates the benchmark's accounts."""
    started = time.monotonic()
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            raise SystemExit("bench: the data generator needs a superuser (triggers off)")
        plan_id = await conn.fetchval("SELECT id FROM plans ORDER BY id LIMIT 1")
        if first_block == 0:
            await create_users(conn)
        reviewer = await conn.fetchval("SELECT id FROM users WHERE username = $1", REVIEWER)
        for start in range(first_block, last_block, chunk):
            end = min(start + chunk, last_block)
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                await _run(conn, SETUP)
                await _run(conn, PERIODS, plan_id, start, end, reviewer)
                for block in (REPORTS, ITEMS, EVENTS, AUDIT, CHANGES, NOTIFICATIONS):
                    await _run(conn, block, reviewer)
        # The read models' triggers were off with the others (migration 0017).
        await conn.execute("SELECT rebuild_read_models()")
        await conn.execute(
            "UPDATE data_version SET version = version + 1,"
            " txid = pg_current_xact_id()::text::bigint"
        )
        await conn.execute("ANALYZE")
        counts = [
            await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("reports", "task_updates", "indicator_values", "audit_log", "changes")
        ]
    finally:
        await conn.close()
    return Counts(*counts, seconds=time.monotonic() - started)
