"""Demo accounts for trying the service locally: one per role, and an officer in a second
agency. Never created when APP_ENV=production.

They sit in today's agencies (the Hải Phòng successors of the plan's Hải Dương departments,
app/data/reorganisations_2358.json): users of an agency that has ended cannot sign in
(app.services.ended_agencies). A demo account an older seed left in another agency is moved
back to its listed one."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.security import hash_password
from app.core.text import fold
from app.models import Agency, User

DEMO_PASSWORD = "Smart-HaiDuong-2358"

# (username, full name, agency code, role)
DEMO_USERS = [
    ("demo.admin", "Quản trị hệ thống (demo)", "HP_SKHCN", "admin"),
    ("demo.reviewer", "Chuyên viên Sở Khoa học và Công nghệ (demo)", "HP_SKHCN", "reviewer"),
    ("demo.observer", "Lãnh đạo UBND thành phố (demo)", "UBND_HP", "observer"),
    ("demo.lead", "Lãnh đạo Sở Y tế (demo)", "HP_SYT", "agency_lead"),
    ("demo.officer", "Cán bộ Sở Y tế (demo)", "HP_SYT", "officer"),
    ("demo.officer2", "Cán bộ Sở Giáo dục và Đào tạo (demo)", "HP_SGDDT", "officer"),
]


async def create_demo_users(session: AsyncSession) -> list[str]:
    """Create the demo accounts that do not exist yet, and move those an older seed left in
    another agency (the plan's, since ended) to their listed one; return the usernames
    created."""
    existing = {
        user.username: user
        for user in (
            await session.execute(
                select(User).where(col(User.username).in_([u[0] for u in DEMO_USERS]))
            )
        ).scalars()
    }
    rows = await session.execute(select(col(Agency.code), col(Agency.id)))
    agencies: dict[str, int] = {code: agency_id or 0 for code, agency_id in rows}
    password_hash = await hash_password(DEMO_PASSWORD)
    created = []
    for username, full_name, agency, role in DEMO_USERS:
        if username in existing:
            user = existing[username]
            if user.agency_id != agencies[agency]:
                user.agency_id, user.full_name = agencies[agency], full_name
                user.search_text = fold(f"{username} {full_name}")
                user.version += 1
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
