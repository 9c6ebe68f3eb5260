"""The portal's IdP metadata at /saml/metadata (metadata.py builds it): what a vendor's SP is
configured from, and fetches again within its cacheDuration."""

from quart import Blueprint, Response, request

from portal import clock, db, settings
from portal.saml import certificates, metadata

blueprint = Blueprint("saml_metadata", __name__)
# SPs and proxies may keep it a minute: well under the 15 minutes a new key is published before
# it signs, so a rotation reaches every copy in time (as OpenID Connect's discovery).
PUBLIC = "public, max-age=60"


@blueprint.get(metadata.METADATA_PATH)
async def idp_metadata() -> Response:
    current, now = settings.current(), clock.now()
    issuer = current.issuer_for(request.host_url.rstrip("/"))
    async with db.transaction() as db_session:
        published = await certificates.published(
            db_session, issuer=issuer, now=now, settings=current
        )
    xml = metadata.idp_metadata(
        entity_id=metadata.entity_id(current, issuer),
        origin=issuer,
        certificates=published,
        now=now,
        want_requests_signed=current.saml_want_authn_requests_signed,
    )
    answer = Response(xml, content_type="application/samlmetadata+xml")
    answer.headers["Cache-Control"] = PUBLIC
    return answer
