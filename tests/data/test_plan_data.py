"""The plan as data: counts pinned, and items checked field by field against the text of
../shared/plan/ke-hoach-2358-KH-UBND-2021.txt, through the public API."""

from typing import Any

import httpx
import pytest

API = "/api/v1"


async def get_json(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(API + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def codes(agencies: list[dict[str, Any]]) -> list[str]:
    return [a["code"] for a in agencies]


async def test_plan_counts(client: httpx.AsyncClient) -> None:
    plan = await get_json(client, "/plan")
    assert plan["code"] == "2358/KH-UBND"
    assert plan["issued_on"] == "2021-06-25"
    assert plan["issuer"] == "UBND tỉnh Hải Dương"
    assert (plan["start_year"], plan["end_year"]) == (2021, 2030)
    counts = plan["counts"]
    assert counts["content_items"] == 28
    assert counts["tasks"] == 81
    assert counts["numbered_tasks"] == 73
    assert counts["subtasks"] == 8
    assert counts["indicators"] == 27
    assert counts["indicators_by_year"] == {"2025": 15, "2030": 12}
    assert counts["documents"] == 13
    reporting = plan["details"]["reporting"]
    assert (reporting["deadline_month"], reporting["deadline_day"]) == (12, 1)
    assert reporting["section"] == "IV.21"
    assert plan["details"]["budget"]["sources"][0] == "Ngân sách nhà nước"


async def test_corrections_are_listed(client: httpx.AsyncClient) -> None:
    plan = await get_json(client, "/plan")
    pairs = {(c["original"], c["corrected"]) for c in plan["corrections"]}
    assert ("Công dữ liệu", "Cổng dữ liệu") in pairs
    assert any(o == "Sở KHCCN" and c == "Sở KHCN" for o, c in pairs)
    for correction in plan["corrections"]:
        assert correction["location"] and correction["original"] != correction["corrected"]


@pytest.mark.parametrize(
    ("group", "count"),
    [
        ("A.I", 9),
        ("A.II", 9),
        ("A.III", 4),
        ("A.IV", 5),
        ("A.V", 4),
        ("A.VI", 4),
        ("A", 35),
        ("B", 16),
        ("C", 4),
        ("D", 5),
        ("E", 17),
        ("F", 4),
    ],
)
async def test_task_counts_per_group(client: httpx.AsyncClient, group: str, count: int) -> None:
    page = await get_json(client, "/tasks", group=group, limit=200)
    assert page["total"] == count
    assert len(page["items"]) == count


async def test_section_ii_has_28_items_in_order(client: httpx.AsyncClient) -> None:
    page = await get_json(client, "/sections", level=3, limit=200)
    items = [s["code"] for s in page["items"] if s["code"].startswith("II.")]
    expected = [
        f"II.{k}.{letter}"
        for k, letters in ((1, "abcdef"), (2, "abcdefg"), (3, "abc"), (4, "abc"), (5, "abcdefghi"))
        for letter in letters
    ]
    assert items == expected


# (code, title, lead codes, coordinating codes, start, end, recurrence, parent)
TASKS = [
    (
        "A.I.1",
        "Chương trình đào tạo nâng cao nhận thức và kỹ năng số trong các cơ quan đảng, "
        "cơ quan nhà nước, tổ chức chính trị - xã hội (bao gồm cả nhận thức về an toàn thông tin)",
        ["STTTT"],
        [],
        2021,
        2022,
        "once",
        None,
    ),
    (
        "A.I.3",
        "Chương trình nâng cao nhận thức, năng lực, kỹ năng trong nền kinh tế số",
        ["SCT"],
        [],
        2021,
        2023,
        "once",
        None,
    ),
    ("A.I.5", None, ["VPUBND", "G_SBN", "G_UBND_HUYEN"], [], 2021, 2025, "once", None),
    (
        "A.I.6",
        "Triển khai chuyên mục chuyển đổi số trên Báo Hải Dương, Đài phát thanh truyền "
        "hình tỉnh Hải Dương",
        ["BAOHD", "DPTTH"],
        [],
        2021,
        2025,
        "once",
        None,
    ),
    (
        "A.II.8",
        "Xây dựng hệ thống cảm biến quan trắc môi trường",
        ["STNMT"],
        [],
        2021,
        2025,
        "once",
        None,
    ),
    (
        "A.III.1",
        "Số hóa dữ liệu chuyên ngành",
        ["G_SBN", "G_UBND_HUYEN_XA"],
        [],
        2021,
        2025,
        "once",
        None,
    ),
    (
        "A.III.3",
        "Xây dựng Cổng dữ liệu của tỉnh và kết nối với Cổng dữ liệu Quốc gia",
        ["STTTT"],
        [],
        2021,
        2023,
        "once",
        None,
    ),
    (
        "A.IV.4",
        "Triển khai mạng lưới truyền thanh thông minh",
        ["STTTT"],
        [],
        2021,
        2023,
        "once",
        None,
    ),
    (
        "A.V.3",
        "Triển khai hệ thống phòng, chống mã độc tập trung",
        ["STTTT"],
        [],
        2021,
        2025,
        "annual",
        None,
    ),
    (
        "A.V.4",
        "Triển khai bảo đảm an toàn thông tin theo mô hình 4 lớp",
        ["STTTT"],
        [],
        2021,
        2025,
        "annual",
        None,
    ),
    (
        "A.VI.4",
        "Củng cố nâng cao năng lực của đơn vị chuyên trách về công nghệ thông tin, an "
        "toàn thông tin",
        ["STTTT"],
        [],
        2021,
        2025,
        "once",
        None,
    ),
    ("B.3", None, [], [], None, None, "once", None),
    (
        "B.3.1",
        "Nâng cấp hệ thống quản lý văn bản và điều hành công việc",
        ["VPUBND"],
        [],
        2022,
        2023,
        "once",
        "B.3",
    ),
    (
        "B.3.2",
        "Tích hợp, hoàn thiện các hệ thống thông tin báo cáo",
        ["SKHDT"],
        [],
        2021,
        2023,
        "once",
        "B.3",
    ),
    (
        "B.3.5",
        "Hệ thống quản lý Danh mục và mã dùng chung",
        ["STTTT"],
        [],
        2021,
        2023,
        "once",
        "B.3",
    ),
    (
        "B.3.8",
        "Hệ thống phục vụ phân tích, báo cáo (BI, Reporting)",
        ["SKHDT"],
        [],
        2023,
        2025,
        "once",
        "B.3",
    ),
    (
        "B.4",
        "Nâng cấp Cổng dịch vụ công trực tuyến và hệ thống một cửa điện tử",
        ["STTTT"],
        [],
        2022,
        2023,
        "once",
        None,
    ),
    (
        "B.7",
        "Xây dựng Trung tâm chỉ đạo, điều hành số Văn phòng Ủy ban nhân dân tỉnh",
        ["VPUBND"],
        [],
        2021,
        2022,
        "once",
        None,
    ),
    (
        "C.3",
        "Triển khai xây dựng chương trình, trung tâm khởi nghiệp sáng tạo thúc đẩy phát "
        "triển kinh tế số",
        ["SKHCN"],
        [],
        2021,
        2025,
        "once",
        None,
    ),
    (
        "C.4",
        "Phát triển hạ tầng số phục vụ thanh toán không dùng tiền mặt trên địa bàn tỉnh Hải Dương",
        ["NHNN"],
        [],
        2021,
        2023,
        "once",
        None,
    ),
    (
        "D.1",
        "Triển khai hệ thống cáp quang đến 100% hộ gia đình và đơn vị hành chính cấp xã "
        "trên địa bàn tỉnh",
        ["STTTT"],
        [],
        2021,
        2030,
        "once",
        None,
    ),
    (
        "D.4",
        "Triển khai Wifi công cộng phục vụ du khách, người dân ở một số điểm quan trọng",
        ["STTTT"],
        [],
        2020,
        2023,
        "once",
        None,
    ),
    ("D.5", "Xây dựng bộ quy tắc về văn hóa số", ["SVHTTDL"], [], 2021, 2023, "once", None),
    ("E.6", None, ["SCT"], [], 2020, 2022, "once", None),
    ("E.10", None, ["SKHCN"], [], 2021, 2025, "once", None),
    (
        "E.11",
        "Xây dựng Trung tâm chỉ đạo, điều hành số Văn phòng Tỉnh Ủy",
        ["VPTU"],
        [],
        2021,
        2023,
        "once",
        None,
    ),
    (
        "E.16",
        "Xây dựng cơ sở dữ liệu quản lý khu công nghiệp tỉnh Hải Dương",
        ["BQLKCN"],
        [],
        2021,
        2022,
        "once",
        None,
    ),
    ("F.1", None, ["G_DTTM"], [], 2021, 2023, "once", None),
    (
        "F.4",
        "Xây dựng và triển khai các ứng dụng thông minh khác trên các lĩnh vực giao thông, "
        "giáo dục, y tế, môi trường trên phạm vi đô thị",
        ["G_DTTM"],
        [],
        2021,
        2023,
        "once",
        None,
    ),
]


@pytest.mark.parametrize(
    ("code", "title", "lead", "coordinating", "start", "end", "recurrence", "parent"),
    TASKS,
    ids=[t[0] for t in TASKS],
)
async def test_task_fields(
    client: httpx.AsyncClient,
    code: str,
    title: str | None,
    lead: list[str],
    coordinating: list[str],
    start: int | None,
    end: int | None,
    recurrence: str,
    parent: str | None,
) -> None:
    task = await get_json(client, f"/tasks/{code}")
    assert task["code"] == code
    if title is not None:
        assert task["title"] == title
    assert codes(task["lead"]) == lead
    assert codes(task["coordinating"]) == coordinating
    assert (task["start_year"], task["end_year"]) == (start, end)
    assert task["recurrence"] == recurrence
    assert task["parent"] == parent


async def test_task_texts_joined_and_corrected(client: httpx.AsyncClient) -> None:
    b32 = await get_json(client, "/tasks/B.3.2")
    # The source splits this cell across a page break; the data joins it.
    assert "Chuẩn hóa các chỉ tiêu, biểu mẫu, số liệu báo cáo" in b32["full_text"]
    e10 = await get_json(client, "/tasks/E.10")
    assert e10["lead_text"] in ("Sở KHCN", "Sở KHCCN")
    assert "cổng thông tin khởi nghiệp sáng tạo" in e10["full_text"]
    e2 = await get_json(client, "/tasks/E.2")
    assert e2["deliverables"][0] == (
        "Xây dựng Hệ thống điều hành ngành Giáo dục và Đào tạo trên nền tảng Số"
    )
    assert len(e2["deliverables"]) == 5
    assert "<" not in e2["full_text"]
    b3 = await get_json(client, "/tasks/B.3")
    assert [s["code"] for s in b3["subtasks"]] == [f"B.3.{n}" for n in range(1, 9)]
    assert b3["lead_note"]


# (code, target_year, lead, coordinating, [(value, comparator, level)])
INDICATORS = [
    (
        "CT-2025-01",
        2025,
        ["VPUBND"],
        ["STTTT"],
        [(90, "gte", "province"), (80, "gte", "district"), (70, "gte", "commune")],
    ),
    ("CT-2025-03", 2025, ["VPUBND"], ["G_SBN", "G_UBND_HUYEN"], [(95, "gte", None)]),
    (
        "CT-2025-04",
        2025,
        ["VPUBND", "SKHDT"],
        ["G_SBN", "G_UBND_HUYEN_XA"],
        [(100, "gte", None), (100, "gte", None)],
    ),
    ("CT-2025-11", 2025, ["SKHDT"], ["STTTT"], [(700, "gt", None)]),
    ("CT-2025-14", 2025, ["NHNN"], ["G_DOANH_NGHIEP"], [(50, "gt", None)]),
    ("CT-2025-15", 2025, ["TPHD", "TPCL", "TXKM"], ["STTTT"], None),
    (
        "CT-2030-02",
        2030,
        ["VPUBND"],
        ["STTTT"],
        [(100, "gte", "province"), (95, "gte", "district"), (80, "gte", "commune")],
    ),
    ("CT-2030-08", 2030, ["SKHDT"], ["STTTT"], [(1000, "gt", None)]),
    ("CT-2030-10", 2030, [], ["G_SBN", "G_UBND_HUYEN_XA", "G_DOANH_NGHIEP"], None),
    ("CT-2030-11", 2030, ["NHNN"], ["G_DOANH_NGHIEP"], [(80, "gt", None)]),
    ("CT-2030-12", 2030, ["TPHD", "TPCL", "TXKM", "G_UBND_CAC_HUYEN"], ["STTTT"], None),
]


@pytest.mark.parametrize(
    ("code", "year", "lead", "coordinating", "targets"), INDICATORS, ids=[i[0] for i in INDICATORS]
)
async def test_indicator_fields(
    client: httpx.AsyncClient,
    code: str,
    year: int,
    lead: list[str],
    coordinating: list[str],
    targets: list[tuple[int, str, str | None]] | None,
) -> None:
    indicator = await get_json(client, f"/indicators/{code}")
    assert indicator["target_year"] == year
    assert codes(indicator["lead"]) == lead
    assert codes(indicator["coordinating"]) == coordinating
    if targets is not None:
        got = [(t["value"], t["comparator"], t["level"]) for t in indicator["targets"]]
        assert got == [(float(v), c, lv) for v, c, lv in targets]
    if not lead:
        assert indicator["lead_note"]


async def test_indicator_texts(client: httpx.AsyncClient) -> None:
    ct5 = await get_json(client, "/indicators/CT-2025-05")
    assert ct5["text"].endswith(
        "khai báo, trọn vòng đời phục vụ người dân và phát triển kinh tế - xã hội"
    )
    ct11 = await get_json(client, "/indicators/CT-2025-11")
    assert ct11["text"] == "Phấn đấu có trên 700 doanh nghiệp công nghệ số"
    ct02 = await get_json(client, "/indicators/CT-2025-02")
    assert sorted(t["deadline_year"] for t in ct02["targets"]) == [2021, 2025]
    ct2030_3 = await get_json(client, "/indicators/CT-2030-03")
    assert "¹" not in ct2030_3["text"]
    assert [t["value"] for t in ct2030_3["targets"] if t["kind"] == "numeric"] == [30.0, 30.0]


# (number, title, type, lead, coordinating)
DOCUMENTS = [
    (
        1,
        "Nghị quyết Tỉnh ủy về chuyển đổi số giai đoạn 2021-2025, định hướng đến năm 2030",
        "Nghị quyết",
        ["STTTT"],
        ["G_SBN", "G_UBND_HUYEN"],
    ),
    (
        4,
        "Kiện toàn tổ chức và bổ sung chức năng, nhiệm vụ chuyển đổi số cho Sở Thông tin và "
        "Truyền thông",
        "Quyết định",
        ["STTTT"],
        ["SNV", "VPUBND"],
    ),
    (
        6,
        "Văn bản chỉ đạo thường xuyên của Chủ tịch UBND tỉnh về triển khai chuyển đổi số (ít "
        "nhất 2 văn bản/năm)",
        "Văn bản chỉ đạo",
        ["VPUBND"],
        ["G_SBN", "G_UBND_HUYEN"],
    ),
    (9, "Quy chế hoạt động của Cổng thông tin điện tử", "Quy chế", ["VPUBND"], ["STTTT"]),
    (
        12,
        "Công bố, cập nhật mã định danh theo Quyết định số 20/2020/QĐ-TTg",
        "Quyết định",
        ["STTTT"],
        ["VPUBND"],
    ),
    (
        13,
        "Quy chế, chính sách bảo đảm an toàn thông tin mạng trong hoạt động của cơ quan nhà nước",
        "Quy định",
        ["STTTT"],
        ["G_SBN", "G_UBND_HUYEN_XA"],
    ),
]


@pytest.mark.parametrize(
    ("number", "title", "type_", "lead", "coordinating"),
    DOCUMENTS,
    ids=[str(d[0]) for d in DOCUMENTS],
)
async def test_document_fields(
    client: httpx.AsyncClient,
    number: int,
    title: str,
    type_: str,
    lead: list[str],
    coordinating: list[str],
) -> None:
    document = await get_json(client, f"/documents/{number}")
    assert document["title"] == title
    assert document["type"] == type_
    assert codes(document["lead"]) == lead
    assert codes(document["coordinating"]) == coordinating
    assert document["recurrence"] == ("annual" if number == 6 else "once")


async def test_section_leads_from_part_iv(client: httpx.AsyncClient) -> None:
    s1a = await get_json(client, "/sections/II.1.a")
    assert s1a["title"] == "Chuyển đổi nhận thức"
    assert len(s1a["bullets"]) == 4
    assert codes(s1a["lead"]) == ["G_SBN", "G_UBND_HUYEN"]
    s5b = await get_json(client, "/sections/II.5.b")
    assert len(s5b["bullets"]) == 6
    by_agency = {a["agency"]["code"]: a for a in s5b["agencies"] if a["role"] == "lead"}
    assert by_agency["SGDDT"]["bullets"] == [1, 2, 3]
    assert by_agency["SGDDT"]["source"] == "IV.8"
    assert by_agency["SLDTBXH"]["bullets"] == [4, 5]
    s5c = await get_json(client, "/sections/II.5.c")
    bullets = {a["agency"]["code"]: a["bullets"] for a in s5c["agencies"] if a["role"] == "lead"}
    assert bullets == {"STC": [1, 2], "CTHUE": [3], "CCHQ": [3], "KBNN": [3], "NHNN": [4]}
    s2c = await get_json(client, "/sections/II.2.c")
    assert codes(s2c["lead"]) == ["STTTT"]
    assert s2c["text"].startswith("Xây dựng Cổng dữ liệu và Kho dữ liệu số của tỉnh")
    s4c = await get_json(client, "/sections/II.4.c")
    assert s4c["lead"] == []
    assert s4c["lead_note"]
    s5h = await get_json(client, "/sections/II.5.h")
    assert sorted(codes(s5h["lead"])) == ["BQLKCN", "SCT"]


async def test_agencies_and_groups(client: httpx.AsyncClient) -> None:
    districts = await get_json(client, "/agencies", kind="district")
    assert [a["code"] for a in districts["items"]] == [
        "TPHD",
        "TPCL",
        "TXKM",
        "HBG",
        "HCG",
        "HGL",
        "HKT",
        "HNS",
        "HNG",
        "HTH",
        "HTM",
        "HTK",
    ]
    sttt = await get_json(client, "/agencies/STTTT")
    assert sttt["name"] == "Sở Thông tin và Truyền thông"
    assert sttt["short_name"] == "Sở TTTT"
    assert "Sở TT&TT" in sttt["aliases"]
    group = await get_json(client, "/agencies/G_UBND_HUYEN")
    assert group["kind"] == "group"
    assert len(group["members"]) == 12
    # A task a group leads is led by each member, and the member's page says through which.
    tu_ky = await get_json(client, "/agencies/HTK")
    a15 = [t for t in tu_ky["tasks"] if t["code"] == "A.I.5"]
    assert a15 == [
        {"code": "A.I.5", "title": a15[0]["title"], "role": "lead", "via": "G_UBND_HUYEN"}
    ]
    assert "G_UBND_HUYEN" in codes(tu_ky["member_of"])
