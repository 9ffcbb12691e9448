"""The web app in FastAPI's shape: one router per resource, their schemas and dependencies.

=============  ===============================================================
module         what it holds
=============  ===============================================================
``open311``    the Open311 GeoReport v2 intake (discovery, services, requests,
               tokens, photos)
``auth``       staff sign-in: tokens issued, inspected and revoked
``staff``      the report workflow, moderation and audit trail for staff
``deps``       dependencies: settings, session, client, signed-in account
``schemas``    request and response formats (what /openapi.json publishes)
``catalogue``  the Open311 service catalogue, read from ``services.json``
``intake``     checking and storing a posted report (idempotent)
``photos``     photo checks, metadata removal, storage
``accounts``   password hashing, sign-in lockout, tokens, ``gomrac users add``
``limits``     posting rate limits and block lists
``formats``    JSON and the spec's XML
=============  ===============================================================
"""
