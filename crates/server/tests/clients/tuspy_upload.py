#!/usr/bin/env python3
"""Uploads a file to dailies with tuspy (tus-py-client 1.x), one chunk at a time.

Run by tests/tus_clients.rs. Each run may stop after a number of chunks (--chunks N), as a
client that is interrupted would, and a later run picks the upload up again, either from the
URL it is given (--url) or from tuspy's own URL storage (--storage, keyed by the file's
fingerprint). Progress goes to stdout as one JSON object per line:

  {"event": "start", "url": ..., "offset": ...}   the upload URL (None before creation) and
                                                  the offset the server reported for it
  {"event": "chunk", "offset": ...}               after each PATCH
  {"event": "stop", "url": ..., "offset": ..., "size": ..., "complete": ..., "video_id": ...}

"video_id" is the Dailies-Video-Id header of the last PATCH response (None until complete).
Exit codes: 0 done, 1 a tus request failed, 2 bad arguments, 3 tuspy is not installed.
"""

import argparse
import json
import os
import sys

try:
    from tusclient.client import TusClient
    from tusclient.exceptions import TusCommunicationError, TusUploadFailed
    from tusclient.storage.filestorage import FileStorage
except ImportError as e:  # pragma: no cover - reported to the test
    print(
        f"tuspy is not installed ({e}): run crates/server/tests/clients/install.sh",
        file=sys.stderr,
    )
    sys.exit(3)


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--endpoint", required=True, help="creation URL, e.g. http://host/api/uploads/")
    p.add_argument("--token", required=True, help="API token (sent as Authorization: Bearer)")
    p.add_argument("--file", required=True)
    p.add_argument("--filename", help="Upload-Metadata filename (default: the file's name)")
    p.add_argument("--chunk-size", type=int, default=256 * 1024)
    p.add_argument("--chunks", type=int, default=0, help="stop after this many PATCHes (0: finish)")
    p.add_argument("--url", help="resume this upload URL")
    p.add_argument("--storage", help="tuspy FileStorage (JSON) remembering URLs by fingerprint")
    p.add_argument("--checksum", action="store_true", help="send Upload-Checksum (sha1) with each chunk")
    p.add_argument("--expect-resume", action="store_true",
                   help="fail unless an existing upload with offset > 0 is picked up")
    args = p.parse_args()

    size = os.path.getsize(args.file)
    client = TusClient(args.endpoint, headers={"Authorization": f"Bearer {args.token}"})
    storage = FileStorage(args.storage) if args.storage else None
    try:
        uploader = client.uploader(
            file_path=args.file,
            url=args.url,
            chunk_size=args.chunk_size,
            metadata={
                "filename": args.filename or os.path.basename(args.file),
                "filetype": "video/mp4",
            },
            store_url=storage is not None,
            url_storage=storage,
            upload_checksum=args.checksum,
        )
        emit("start", url=uploader.url, offset=uploader.offset)
        if args.expect_resume and (uploader.url is None or uploader.offset <= 0):
            print(f"expected to resume an upload, got url={uploader.url} offset={uploader.offset}",
                  file=sys.stderr)
            return 1
        done = 0
        while uploader.offset < size and (args.chunks == 0 or done < args.chunks):
            uploader.upload_chunk()
            done += 1
            emit("chunk", offset=uploader.offset)
    except (TusCommunicationError, TusUploadFailed) as e:
        print(f"tus request failed: status={e.status_code} body={e.response_content!r} ({e})",
              file=sys.stderr)
        return 1
    finally:
        if storage is not None:
            storage.close()

    last = uploader.request.response_headers if uploader.request is not None else {}
    emit(
        "stop",
        url=uploader.url,
        offset=uploader.offset,
        size=size,
        complete=uploader.offset == size,
        video_id=last.get("dailies-video-id"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
