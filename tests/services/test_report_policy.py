"""The policy table drives the tests: every row, every role, every reachable situation.

For each situation (a report's state, its period open or closed, its item's review state)
and each role of the `accounts` fixture, the expected answer of every row's request is
computed here from the row's data (permission, own-agency scope, state clauses, comment),
then the request goes through HTTP; `allowed_actions` of the report and of its item must
list exactly the rows expected to pass. A change to the table changes these cases; a
guard or a list that stops reading the table fails them.
"""

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.core.permissions import permissions_of
from app.services.report_policy import RULES, Rule, Scope
from tests.factories import Account

API = "/api/v1"
ROLES = ("officer", "agency_lead", "reviewer", "observer", "admin", "other_officer")
OWN = {"officer", "agency_lead"}  # staff of Sở Y tế, whose reports these are
NEW_VALUE = {"target": "CT-2025-06.1", "value": 10, "as_of": "2026-11-15"}
# Requests whose success leaves the situation as it was (bar versions): run in place.
IN_PLACE = {("report", "edit"), ("report", "comment"), ("item", "update")}
SUCCESS = {"edit": 201, "comment": 201, "delete": 204}


@dataclass(frozen=True)
class Situation:
    report: str  # draft, submitted, approved, returned
    period_open: bool = True
    item: str | None = None  # the item's review state

    def __str__(self) -> str:
        closed = "" if self.period_open else "-closed"
        return f"{self.report}{closed}" + (f"-item-{self.item}" if self.item else "")


SITUATIONS = (
    Situation("draft"),
    Situation("draft", period_open=False),
    Situation("submitted"),
    Situation("approved"),
    Situation("approved", item="returned"),
    Situation("approved", item="resubmitted"),
    Situation("returned"),
)


def visible(role: str, s: Situation) -> bool:
    """app.services.visibility: own agency always; readers of all once submitted."""
    return role in OWN or (role in ("reviewer", "observer", "admin") and s.report != "draft")


def holds(rule: Rule, s: Situation) -> bool:
    return any(
        s.report in c.report
        and (c.item is None or s.item in c.item)
        and (not c.period_open or s.period_open)
        for c in rule.when
    )


def expected(rule: Rule, role: str, s: Situation) -> int:
    if not visible(role, s):
        return 404
    if rule.permission not in permissions_of(role) or (rule.scope is Scope.own and role not in OWN):
        return 403
    if not holds(rule, s):
        return 409
    return SUCCESS.get(rule.action, 200)


class Case:
    """A fresh Sở Y tế report with one task update, brought into a situation."""

    def __init__(self, client: httpx.AsyncClient, accounts: dict[str, Account]) -> None:
        self.client, self.acc = client, accounts
        self.url = self.item_url = ""

    async def _ok(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code < 300, response.text
        return dict(response.json()) if response.content else {}

    async def tag(self, url: str) -> str:
        response = await self.client.get(url, headers=self.acc["agency_lead"].headers)
        assert response.status_code == 200, response.text
        return response.headers["etag"]

    async def post(self, url: str, who: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.acc[who].headers, **kwargs.pop("headers", {})}
        return await self.client.post(url, headers=headers, **kwargs)

    async def build(self, s: Situation) -> "Case":
        period = await self._ok(
            await self.post(
                f"{API}/periods",
                "reviewer",
                json={
                    "title": f"Kỳ chính sách {secrets.token_hex(3)}",
                    "due_date": "2026-12-01",
                    "cutoff_date": "2026-11-15",
                    "agencies": ["SYT"],
                },
            )
        )
        report = await self._ok(
            await self.post(f"{API}/reports", "officer", json={"period_id": period["id"]})
        )
        self.url = f"{API}/reports/{report['id']}"
        item = await self._ok(
            await self.post(
                f"{self.url}/task-updates",
                "officer",
                json={"task": "E.1", "status": "in_progress", "percent_complete": 20},
            )
        )
        self.item_url = f"{self.url}/task-updates/{item['id']}"
        moves = {
            "submitted": [("submit", "agency_lead")],
            "approved": [("submit", "agency_lead"), ("approve", "reviewer")],
            "returned": [("submit", "agency_lead"), ("return", "reviewer")],
        }
        for move, who in moves.get(s.report, []):
            await self._ok(await self.move(self.url, move, who, "Lý do."))
        item_moves = {
            "returned": [("return", "reviewer")],
            "resubmitted": [("return", "reviewer"), ("resubmit", "agency_lead")],
        }
        for move, who in item_moves.get(s.item or "", []):
            await self._ok(await self.move(self.item_url, move, who, "Lý do."))
        if not s.period_open:
            period_url = f"{API}/periods/{period['id']}"
            tag = (await self.client.get(period_url, headers=self.acc["reviewer"].headers)).headers
            await self._ok(
                await self.client.patch(
                    period_url,
                    json={"state": "closed"},
                    headers={**self.acc["reviewer"].headers, "If-Match": tag["etag"]},
                )
            )
        return self

    async def move(self, url: str, action: str, who: str, comment: str | None) -> httpx.Response:
        body = {"comment": comment} if comment is not None else None
        return await self.post(
            f"{url}/{action}", who, json=body, headers={"If-Match": await self.tag(url)}
        )

    async def attempt(self, rule: Rule, role: str, comment: str | None = "Lý do.") -> int:
        """The row's request, sent by `role` with the current ETag (so only the policy,
        never a stale version, can refuse it)."""
        if rule.subject == "report":
            if rule.action == "edit":
                response = await self.post(f"{self.url}/indicator-values", role, json=NEW_VALUE)
            elif rule.action == "comment":
                response = await self.post(f"{self.url}/comments", role, json={"body": "Ý kiến."})
            else:
                response = await self.move(self.url, rule.action, role, comment)
            return response.status_code
        headers = {**self.acc[role].headers, "If-Match": await self.tag(self.item_url)}
        if rule.action == "update":
            patch = {"percent_complete": 33}
            return (await self.client.patch(self.item_url, json=patch, headers=headers)).status_code
        if rule.action == "delete":
            return (await self.client.delete(self.item_url, headers=headers)).status_code
        return (await self.move(self.item_url, rule.action, role, comment)).status_code

    async def allowed_actions(self, role: str) -> tuple[list[str], list[str]]:
        detail = (await self.client.get(self.url, headers=self.acc[role].headers)).json()
        item = (await self.client.get(self.item_url, headers=self.acc[role].headers)).json()
        assert detail["task_updates"][0]["allowed_actions"] == item["allowed_actions"]
        return detail["allowed_actions"], item["allowed_actions"]


@pytest.mark.parametrize("situation", SITUATIONS, ids=str)
async def test_every_row_for_every_role(
    client: httpx.AsyncClient, accounts: dict[str, Account], situation: Situation
) -> None:
    case = await Case(client, accounts).build(situation)
    for role in ROLES:
        report_rows = [r.action for r in RULES if r.subject == "report"]
        if not visible(role, situation):
            status = (await client.get(case.url, headers=accounts[role].headers)).status_code
            assert status == 404, role
            continue
        want = tuple(
            [r.action for r in RULES if r.subject == subject and expected(r, role, situation) < 300]
            for subject in ("report", "item")
        )
        assert await case.allowed_actions(role) == want, (role, report_rows)

    consuming: list[tuple[Rule, str]] = []
    for rule in RULES:
        for role in ROLES:
            want = expected(rule, role, situation)
            if want < 300 and rule.needs_comment:
                assert await case.attempt(rule, role, comment="  ") == 422, (rule, role)
            if want < 300 and (rule.subject, rule.action) not in IN_PLACE:
                consuming.append((rule, role))
                continue
            got = await case.attempt(rule, role)
            assert got == want, (rule.subject, rule.action, role, str(situation))
    # Each move that changes the situation gets a situation of its own.
    for rule, role in consuming:
        fresh = await Case(client, accounts).build(situation)
        got = await fresh.attempt(rule, role)
        assert got == expected(rule, role, situation), (rule.subject, rule.action, role)


def test_the_table_names_each_subject_action_once() -> None:
    keys = [(r.subject, r.action) for r in RULES]
    assert len(keys) == len(set(keys))
    assert {r.action for r in RULES if r.subject == "report"} == {
        "edit",
        "submit",
        "withdraw",
        "approve",
        "return",
        "comment",
    }
    assert {r.action for r in RULES if r.subject == "item"} == {
        "update",
        "delete",
        "resubmit",
        "return",
        "approve",
    }
    # Every row has a role that may do it, and a situation that allows it.
    for rule in RULES:
        assert any(rule.permission in permissions_of(role) for role in ROLES), rule
        assert any(holds(rule, s) for s in SITUATIONS), rule
