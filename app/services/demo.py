"""Demo accounts for trying the service locally: one per role, and an officer in a second
agency. Never created when APP_ENV=production."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.security import hash_password
from app.core.text import fold
from app.models import Agency, User

DEMO_PASSWORD = "Smart-HaiDuong-2358"

# (username, full name, agency code, role)
DEMO_USERS = [
    ("demo.admin", "Quản trị hệ thống (demo)", "STTTT", "admin"),
    ("demo.reviewer", "Chuyên viên Sở TTTT (demo)", "STTTT", "reviewer"),
    ("demo.observer", "Lãnh đạo UBND tỉnh (demo)", "UBND_TINH", "observer"),
    ("demo.lead", "Lãnh đạo Sở Y tế (demo)", "SYT", "agency_lead"),
    ("demo.officer", "Cán bộ Sở Y tế (demo)", "SYT", "officer"),
    ("demo.officer2", "Cán bộ Sở Giáo dục và Đào tạo (demo)", "SGDDT", "officer"),
]


async def create_demo_users(session: AsyncSession) -> list[str]:
    """Create the demo accounts that do not exist yet; return the usernames created."""
    existing = set(
        (
            await session.execute(
                select(col(User.username)).where(col(User.username).in_([u[0] for u in DEMO_USERS]))
            )
        ).scalars()
    )
    rows = await session.execute(select(col(Agency.code), col(Agency.id)))
    agencies: dict[str, int] = {code: agency_id or 0 for code, agency_id in rows}
    password_hash = await hash_password(DEMO_PASSWORD)
    created = []
    for username, full_name, agency, role in DEMO_USERS:
        if username in existing:
            continue
        session.add(
            User(
                username=username,
                full_name=full_name,
                agency_id=agencies[agency],
                role=role,
                password_hash=password_hash,
                search_text=fold(f"{username} {full_name}"),
            )
        )
        created.append(username)
    await session.flush()
    return created
