"""The broker's certificates, for launchers that pinned one: the current and the next.

A launcher that pinned this broker's self-signed certificate asks after each
sign-in, over the pinned connection. A next certificate announced here
(`rubicon-broker init --next`) is accepted beside the pinned one, so that a
planned rotation (`init --rotate`) locks nobody out. What is answered was read
when the app was made (`broker_stub.tls.published`): the pair `serve` loaded.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from broker_stub.tls import Published

router = APIRouter(prefix="/api/v1", tags=["operations"])


class NextCertificate(BaseModel):
    fingerprint: str = Field(description="SHA-256 of the certificate, AB:CD:... as `init` prints")
    pem: str = Field(description="The certificate, PEM: what a launcher pins once it is served")
    not_after: datetime


class Certificates(BaseModel):
    fingerprint: str | None = Field(
        description="SHA-256 of the certificate served; null over plain HTTP"
    )
    next: NextCertificate | None = Field(
        description="The certificate the broker will serve after a rotation, if one is planned"
    )


@router.get("/tls")
def certificates(request: Request) -> Certificates:
    """The served certificate's fingerprint, and the next one announced ahead of a rotation."""
    shown: Published = request.app.state.tls
    upcoming = None
    if shown.next_fingerprint and shown.next_pem and shown.next_not_after:
        upcoming = NextCertificate(
            fingerprint=shown.next_fingerprint,
            pem=shown.next_pem,
            not_after=shown.next_not_after,
        )
    return Certificates(fingerprint=shown.fingerprint, next=upcoming)
