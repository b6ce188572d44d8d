"""The admin API under /api/v1/admin: every route needs an admin's token.

The routes live in admin_users, admin_inventory, admin_sessions and
admin_audit; this module puts them all behind require_admin.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from broker_stub.api import admin_audit, admin_inventory, admin_sessions, admin_users
from broker_stub.api.deps import require_admin

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])
for _module in (admin_users, admin_inventory, admin_sessions, admin_audit):
    router.include_router(_module.router)
