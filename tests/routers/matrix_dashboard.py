"""Access matrix entries for the dashboard, scorecards, compliance, exports, assignments,
enums and search."""

from tests.routers.test_access_matrix import Endpoint, everyone, fresh_period, staff

READ_ALL = {
    "anonymous": 401,
    "officer": 403,
    "agency_lead": 403,
    "reviewer": 200,
    "observer": 200,
    "admin": 200,
    "other_officer": 403,
}

ENDPOINTS = [
    Endpoint("GET", "/api/v1/dashboard", everyone(200)),
    Endpoint(
        "GET",
        "/api/v1/agencies/{code}/scorecard",
        everyone(200),
        url="/api/v1/agencies/SYT/scorecard",
    ),
    Endpoint(
        "GET",
        "/api/v1/periods/{period_id}/compliance",
        {**staff(200), "anonymous": 404},
        url="/api/v1/periods/{id}/compliance",
        prepare=fresh_period,
    ),
    Endpoint(
        "GET",
        "/api/v1/periods/{period_id}/export.xlsx",
        READ_ALL,
        url="/api/v1/periods/{id}/export.xlsx",
        prepare=fresh_period,
    ),
    Endpoint(
        "GET",
        "/api/v1/periods/{period_id}/export.csv",
        READ_ALL,
        url="/api/v1/periods/{id}/export.csv",
        prepare=fresh_period,
    ),
    Endpoint("GET", "/api/v1/me/assignments", staff(200)),
    Endpoint("GET", "/api/v1/meta/enums", everyone(200)),
    Endpoint("GET", "/api/v1/search", everyone(200), url="/api/v1/search?q=y%20te"),
    Endpoint("GET", "/api/v1/sync", everyone(200)),
    Endpoint("GET", "/api/v1/open-data/{file}", everyone(200), url="/api/v1/open-data/tasks.json"),
]
