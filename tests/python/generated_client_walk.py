"""The whole walk of a SmartDocumentor integration, through a client generated from docket's
OpenAPI document by openapi-python-client and used as generated: token, a task by URL, a task by
upload, their status, and the export. Run by tests/cli.rs; prints "walked" at the end.

usage: generated_client_walk.py BASE CLIENT_ID CLIENT_SECRET DOCUMENT_URL DOCUMENT_PATH
"""

import sys
import time

from docket_client import AuthenticatedClient, Client
from docket_client.api.authentication import token
from docket_client.api.tasks import export_data, process, status
from docket_client.models import (
    CreateTaskForm,
    CreateTaskRequest,
    CreateTaskRequestContext,
    TaskStatusResponse,
    TokenRequest,
    TokenResponse,
)
from docket_client.types import File

base, client_id, client_secret, document_url, document_path = sys.argv[1:6]

issued = token.sync(
    client=Client(base_url=base),
    body=TokenRequest(
        grant_type="client_credentials",
        client_id=client_id,
        client_secret=client_secret,
        scope="WebAPI",
    ),
)
assert isinstance(issued, TokenResponse), issued
api = AuthenticatedClient(base_url=base, token=issued.access_token)

by_url = process.sync(
    client=api,
    body=CreateTaskRequest(
        context=CreateTaskRequestContext(url=document_url),
        external_id="py-url",
        display_name="By URL",
    ),
)
assert isinstance(by_url, TaskStatusResponse), by_url

with open(document_path, "rb") as document:
    by_upload = process.sync(
        client=api,
        body=CreateTaskForm(
            file=File(payload=document, file_name="invoice.pdf", mime_type="application/pdf"),
            external_id="py-upload",
        ),
    )
assert isinstance(by_upload, TaskStatusResponse), by_upload

for created in (by_url, by_upload):
    deadline = time.monotonic() + 120
    while True:
        current = status.sync(client=api, task_id=created.task_id)
        assert isinstance(current, TaskStatusResponse), current
        if current.task_status == 3:
            break
        assert current.task_status not in (32, 33, 35, 42), current
        assert time.monotonic() < deadline, current
        time.sleep(0.2)
    export = export_data.sync(created.task_id, client=api)
    assert export is not None and export.chunks, export

by_external = status.sync(client=api, external_id="py-upload")
assert isinstance(by_external, TaskStatusResponse) and by_external.task_id == by_upload.task_id
print("walked")
